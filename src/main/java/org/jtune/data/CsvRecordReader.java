package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Streams a CSV or TSV file (RFC 4180: a header row of column names, fields quoted with {@code "} where they hold
 * the delimiter, quotes or line breaks) as JSON objects of strings keyed by the header. A cell holding a JSON list
 * of objects (a {@code messages} column written out by pandas) is read as that list.
 */
final class CsvRecordReader implements RecordReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final char delimiter;
    private final BufferedReader in;
    private final List<String> header;
    private long line = 1;
    private boolean ended;

    CsvRecordReader(Path file, char delimiter) {
        this.file = file;
        this.delimiter = delimiter;
        try {
            in = new BufferedReader(new InputStreamReader(Compression.open(file), StandardCharsets.UTF_8), 1 << 16);
            in.mark(1);
            if (in.read() != '\uFEFF') {
                in.reset();
            }
            List<String> names = row();
            if (names == null) {
                throw new DatasetException(file + " is empty: a " + kind() + " file needs a header row of column names");
            }
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i).strip();
                if (n.isEmpty() || names.subList(0, i).stream().anyMatch(o -> o.strip().equals(n))) {
                    throw new DatasetException(file + ", line 1: the header row's column " + (i + 1) + " is "
                            + (n.isEmpty() ? "empty" : "a second '" + n + "'") + "; the header names each column once");
                }
                names.set(i, n);
            }
            header = List.copyOf(names);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DatasetException(file + ": no such file");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private String kind() {
        return delimiter == '\t' ? "TSV" : "CSV";
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public JsonRecord next() {
        while (true) {
            long start = line;
            List<String> fields;
            try {
                fields = row();
            } catch (IOException e) {
                throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
            }
            if (fields == null) {
                return null;
            }
            RecordLocation where = RecordLocation.line(file, start);
            if (fields.size() == 1 && fields.getFirst().isEmpty()) {
                continue; // a blank line
            }
            if (fields.size() != header.size()) {
                throw new BadRecordException(where, "has " + fields.size() + " fields where the header has "
                        + header.size() + " (" + String.join(", ", header) + ")");
            }
            ObjectNode record = JSON.createObjectNode();
            for (int i = 0; i < fields.size(); i++) {
                record.set(header.get(i), cell(fields.get(i)));
            }
            return new JsonRecord(where, record);
        }
    }

    private static JsonNode cell(String text) {
        String t = text.strip();
        if (t.startsWith("[{") && t.endsWith("}]")) {
            try {
                JsonNode list = JSON.readTree(t);
                if (list.isArray()) {
                    return list;
                }
            } catch (IOException ignored) {
                // not JSON after all: plain text
            }
        }
        return JSON.getNodeFactory().textNode(text);
    }

    /** The fields of the next row, or null at the end; a quoted field may span lines. */
    private List<String> row() throws IOException {
        if (ended) {
            return null;
        }
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        int c;
        while ((c = in.read()) >= 0) {
            any = true;
            if (quoted) {
                if (c == '"') {
                    in.mark(1);
                    int d = in.read();
                    if (d == '"') {
                        field.append('"');
                    } else {
                        quoted = false;
                        if (d >= 0) {
                            in.reset();
                        }
                    }
                } else {
                    if (c == '\n') {
                        line++;
                    }
                    field.append((char) c);
                }
            } else if (c == '"' && field.isEmpty()) {
                quoted = true;
            } else if (c == delimiter) {
                fields.add(field.toString());
                field.setLength(0);
            } else if (c == '\n') {
                line++;
                fields.add(stripCr(field));
                return fields;
            } else {
                field.append((char) c);
            }
        }
        ended = true;
        if (quoted) {
            throw new BadRecordException(RecordLocation.line(file, line), "a quoted field is not closed before the "
                    + "end of the file");
        }
        if (!any) {
            return null;
        }
        fields.add(stripCr(field));
        return fields;
    }

    private static String stripCr(StringBuilder field) {
        int n = field.length();
        return n > 0 && field.charAt(n - 1) == '\r' ? field.substring(0, n - 1) : field.toString();
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            throw new DatasetException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}

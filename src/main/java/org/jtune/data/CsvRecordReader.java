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
    private final long maxRowChars;
    private final BufferedReader in;
    private final List<String> header;
    private long line = 1;
    private boolean ended;

    /** Reads {@code file} within {@code limits}: rows (a quoted field may span lines) and decompressed bytes. */
    CsvRecordReader(Path file, char delimiter, ReadLimits limits) {
        this.file = file;
        this.delimiter = delimiter;
        this.maxRowChars = limits.maxLineBytes();
        try {
            in = new BufferedReader(new InputStreamReader(new CappedInputStream(Compression.open(file), file,
                    limits.maxFileBytes()), StandardCharsets.UTF_8), 1 << 16);
            in.mark(1);
            if (in.read() != '\uFEFF') {
                in.reset();
            }
            Row first = row();
            if (first != null && first.overlong()) {
                throw new DatasetException(file + ", line 1: the header row is longer than " + maxRowChars
                        + " bytes; --max-line-bytes raises the cap");
            }
            List<String> names = first == null ? null : first.fields();
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
            Row row;
            try {
                row = row();
            } catch (IOException e) {
                throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
            }
            if (row == null) {
                return null;
            }
            RecordLocation where = RecordLocation.line(file, start);
            if (row.overlong()) {
                throw new BadRecordException(where, "is a row longer than " + maxRowChars
                        + " bytes; --max-line-bytes raises the cap");
            }
            List<String> fields = row.fields();
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

    /**
     * One row's fields; of an overlong row only its first characters are kept (memory stays bounded), and the
     * reading goes on to the row's end so that the next row starts where it should.
     */
    private record Row(List<String> fields, boolean overlong) {}

    /** The next row, or null at the end; a quoted field may span lines. */
    private Row row() throws IOException {
        if (ended) {
            return null;
        }
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        long chars = 0;
        boolean overlong = false;
        int c;
        while ((c = in.read()) >= 0) {
            any = true;
            overlong |= ++chars > maxRowChars; // from here on, nothing more of the row is kept
            if (quoted) {
                if (c == '"') {
                    in.mark(1);
                    int d = in.read();
                    if (d == '"') {
                        if (!overlong) {
                            field.append('"');
                        }
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
                    if (!overlong) {
                        field.append((char) c);
                    }
                }
            } else if (c == '"' && field.isEmpty()) {
                quoted = true;
            } else if (c == delimiter) {
                fields.add(field.toString());
                field.setLength(0);
            } else if (c == '\n') {
                line++;
                fields.add(stripCr(field));
                return new Row(fields, overlong);
            } else if (!overlong) {
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
        return new Row(fields, overlong);
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

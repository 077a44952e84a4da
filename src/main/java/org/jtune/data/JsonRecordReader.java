package org.jtune.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.io.IoErrors;
import org.jtune.io.StrictJson;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.file.Path;

/**
 * Streams the records of a data file, one at a time, whatever its size: JSON Lines (one value per
 * line, blank lines ignored) or one JSON array of values, plain or compressed (see {@link Compression}).
 * Which of the two is decided by the first character that is not white space: '[' means an array.
 * <p>
 * A JSON Lines line that is not valid JSON is a {@link BadRecordException} and reading can go on.
 * A syntax error inside a JSON array ends the file (the parser cannot find the next element), so it
 * is a plain {@link DatasetException} naming the element index and the parser's line and column.
 */
public final class JsonRecordReader implements RecordReader {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path file;
    private final InputStream in;
    private final Utf8Lines lines;
    private final JsonParser array;
    private long position;
    private boolean finished;

    public JsonRecordReader(Path file) {
        this(file, ReadLimits.DEFAULT);
    }

    /** Opens a data file (a regular file only) within the given limits. */
    public JsonRecordReader(Path file, ReadLimits limits) {
        this.file = file;
        try {
            IoErrors.requireRegularFile(file, "data file");
            PushbackInputStream data = new PushbackInputStream(new CappedInputStream(Compression.open(file), file,
                    limits.maxFileBytes()), 4);
            this.in = data;
            boolean isArray = firstSignificantByte(data) == '[';
            if (isArray) {
                lines = null;
                array = new JsonFactory(MAPPER).createParser(data);
                array.nextToken();
            } else {
                lines = new Utf8Lines(data, limits.maxLineBytes());
                array = null;
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DatasetException(file + ": no such file");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** Skips a UTF-8 byte order mark and white space, and pushes the first other byte back. */
    private static int firstSignificantByte(PushbackInputStream in) throws IOException {
        byte[] bom = in.readNBytes(3);
        boolean hasBom = bom.length == 3 && (bom[0] & 0xff) == 0xef && (bom[1] & 0xff) == 0xbb && (bom[2] & 0xff) == 0xbf;
        if (!hasBom) {
            in.unread(bom);
        }
        int b;
        do {
            b = in.read();
        } while (b == ' ' || b == '\t' || b == '\r' || b == '\n');
        if (b >= 0) {
            in.unread(b);
        }
        return b;
    }

    @Override
    public Path file() {
        return file;
    }

    /** Whether the file is a JSON array (else JSON Lines). */
    public boolean isArray() {
        return array != null;
    }

    @Override
    public JsonRecord next() {
        if (finished) {
            return null;
        }
        try {
            JsonRecord r = array != null ? nextElement() : nextLine();
            finished = r == null;
            return r;
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    private JsonRecord nextLine() throws IOException {
        while (true) {
            String line;
            try {
                line = lines.next();
            } catch (Utf8Lines.InvalidLine e) {
                position++;
                throw new BadRecordException(RecordLocation.line(file, position), e.getMessage());
            }
            if (line == null) {
                return null;
            }
            position++;
            if (line.isBlank()) {
                continue;
            }
            RecordLocation where = RecordLocation.line(file, position);
            try {
                return new JsonRecord(where, StrictJson.MAPPER.readTree(line));
            } catch (JsonProcessingException e) {
                throw new BadRecordException(where, "invalid JSON: " + e.getOriginalMessage()
                        + (e.getMessage() != null && e.getMessage().contains("Trailing token")
                        ? " (one JSON value per line: a second value on the line is not read)" : ""));
            }
        }
    }

    private JsonRecord nextElement() throws IOException {
        RecordLocation where = RecordLocation.element(file, position);
        try {
            JsonToken t = array.nextToken();
            if (t == JsonToken.END_ARRAY) {
                if (array.nextToken() != null) {
                    throw new DatasetException(file + ": unexpected content after the closing ']' of the JSON array");
                }
                return null;
            }
            if (t == null) {
                throw new DatasetException(file + ": the JSON array is not closed (file ends after element " + (position - 1) + ")");
            }
            JsonNode value = MAPPER.readTree(array);
            position++;
            return new JsonRecord(where, value);
        } catch (JsonProcessingException e) {
            finished = true;
            var loc = e.getLocation();
            String at = loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
            throw new DatasetException(where + at + ": invalid JSON, the rest of the array cannot be read: "
                    + e.getOriginalMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            if (array != null) {
                array.close();
            }
            in.close();
        } catch (IOException e) {
            throw new DatasetException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}

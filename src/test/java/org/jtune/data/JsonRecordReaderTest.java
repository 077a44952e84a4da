package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JSON Lines and JSON arrays, plain and compressed (detected by content), and where errors are reported. */
class JsonRecordReaderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    private static List<JsonNode> randomRecords(long seed, int n) {
        Random random = new Random(seed);
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ObjectNode o = MAPPER.createObjectNode();
            StringBuilder s = new StringBuilder();
            int len = random.nextInt(40);
            int[] alphabet = "ab c\"\\\né€𝄞".codePoints().toArray();
            for (int k = 0; k < len; k++) {
                // Letters, spaces, quotes, backslashes, newlines and non-ASCII: all must survive encoding.
                s.appendCodePoint(alphabet[random.nextInt(alphabet.length)]);
            }
            o.put("text", s.toString());
            o.put("n", random.nextInt());
            out.add(o);
        }
        return out;
    }

    private static String jsonl(List<JsonNode> records) throws IOException {
        StringBuilder s = new StringBuilder();
        for (JsonNode r : records) {
            s.append(MAPPER.writeValueAsString(r)).append('\n');
        }
        return s.toString();
    }

    private static List<JsonRecord> readAll(Path file) {
        List<JsonRecord> out = new ArrayList<>();
        try (JsonRecordReader r = new JsonRecordReader(file)) {
            for (JsonRecord rec; (rec = r.next()) != null; ) {
                out.add(rec);
            }
        }
        return out;
    }

    @Test
    void everyCodecIsDetectedByContentWhateverTheFileName() throws IOException {
        long seed = System.nanoTime();
        List<JsonNode> records = randomRecords(seed, 300);
        String lines = jsonl(records);
        String array = MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(records);
        // Misleading names: no name tells the truth.
        String[][] cases = {{"NONE", "plain.jsonl.gz"}, {"GZIP", "gzipped.xz"}, {"XZ", "xz.bz2"}, {"BZIP2", "bzip2.jsonl"},
            {"ZSTD", "zstd.jsonl.gz"}};
        for (String[] c : cases) {
            Compression compression = Compression.valueOf(c[0]);
            for (boolean asArray : new boolean[] {false, true}) {
                Path file = DataFiles.write(dir.resolve((asArray ? "array-" : "lines-") + c[1]), asArray ? array : lines, compression);
                assertEquals(compression, Compression.of(file), c[1]);
                List<JsonRecord> read = readAll(file);
                assertEquals(records.size(), read.size(), c[1] + " seed " + seed);
                for (int i = 0; i < records.size(); i++) {
                    assertEquals(records.get(i), read.get(i).value(), c[1] + " record " + i + " seed " + seed);
                    RecordLocation expected = asArray ? RecordLocation.element(file, i) : RecordLocation.line(file, i + 1);
                    assertEquals(expected, read.get(i).location());
                }
            }
        }
    }

    @Test
    void aMissingFileIsNamedOnce() {
        Path file = dir.resolve("nosuch.jsonl");
        DatasetException e = assertThrows(DatasetException.class, () -> new JsonRecordReader(file));
        assertEquals(file + ": no such file", e.getMessage());
    }

    @Test
    void blankLinesAreSkippedButCountedInLineNumbers() throws IOException {
        Path file = DataFiles.write(dir.resolve("gaps.jsonl"), "\uFEFF{\"a\":1}\n\n   \n{\"a\":2}\r\n{\"a\":3}");
        List<JsonRecord> read = readAll(file);
        assertEquals(List.of(1L, 4L, 5L), read.stream().map(r -> r.location().position()).toList());
        assertEquals(List.of(1, 2, 3), read.stream().map(r -> r.value().get("a").asInt()).toList());
    }

    @Test
    void invalidJsonLineNamesFileAndLineAndReadingGoesOn() throws IOException {
        Path file = DataFiles.write(dir.resolve("bad.jsonl"), "{\"a\":1}\n{\"a\":\n{\"a\":3}\n");
        try (JsonRecordReader r = new JsonRecordReader(file)) {
            assertEquals(1, r.next().value().get("a").asInt());
            BadRecordException e = assertThrows(BadRecordException.class, r::next);
            assertEquals(RecordLocation.line(file, 2), e.location());
            assertTrue(e.getMessage().startsWith(file + ", line 2: invalid JSON"), e.getMessage());
            assertEquals(3, r.next().value().get("a").asInt());
            assertNull(r.next());
        }
    }

    @Test
    void invalidJsonInAnArrayNamesTheElementAndEndsTheFile() throws IOException {
        Path file = DataFiles.write(dir.resolve("bad.json"), "[{\"a\":1},\n{\"a\":2},\n{\"a\" 3}, {\"a\":4}]", Compression.GZIP);
        try (JsonRecordReader r = new JsonRecordReader(file)) {
            r.next();
            r.next();
            DatasetException e = assertThrows(DatasetException.class, r::next);
            assertTrue(e.getMessage().startsWith(file + ", array element 2 (line 3"), e.getMessage());
            assertNull(r.next());
        }
        Path open = DataFiles.write(dir.resolve("open.json"), "[{\"a\":1}");
        DatasetException e = assertThrows(DatasetException.class, () -> readAll(open));
        assertTrue(e.getMessage().contains(open.toString()), e.getMessage());
    }

    @Test
    void invalidUtf8NamesTheLine() throws IOException {
        Path file = dir.resolve("latin1.jsonl");
        Files.write(file, new byte[] {'{', '}', '\n', '{', '"', 'a', '"', ':', '"', (byte) 0xe9, '"', '}', '\n'});
        try (JsonRecordReader r = new JsonRecordReader(file)) {
            r.next();
            BadRecordException e = assertThrows(BadRecordException.class, r::next);
            assertEquals(RecordLocation.line(file, 2), e.location());
            assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
            assertNull(r.next());
        }
    }
}

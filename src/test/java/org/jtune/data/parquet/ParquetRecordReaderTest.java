package org.jtune.data.parquet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlift.compress.v3.snappy.SnappyJavaCompressor;
import org.jtune.data.DatasetException;
import org.jtune.data.ReadLimits;
import org.jtune.data.JsonRecord;
import org.jtune.data.RecordLocation;
import org.jtune.data.RecordReader;
import org.jtune.data.RecordReaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parquet files written by DuckDB (src/test/scripts/make-parquet-fixtures.mjs) read back as the JSON Lines records
 * they were written from: every compression, both page versions, nulls, nested lists and structs.
 */
class ParquetRecordReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static Path fixture(Path dir, String name) throws IOException {
        return ParquetFixtures.copy(dir, name);
    }

    static List<JsonNode> jsonLines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    private static List<JsonRecord> readAll(Path file) {
        List<JsonRecord> out = new ArrayList<>();
        try (RecordReader r = RecordReaders.open(file)) {
            for (JsonRecord rec; (rec = r.next()) != null; ) {
                out.add(rec);
            }
            assertNull(r.next());
        }
        return out;
    }

    @Test
    void everyCompressionAndPageVersionReadsAsTheRecordsItWasWrittenFrom() throws IOException {
        List<JsonNode> expected = jsonLines(fixture(dir, "mixed.jsonl"));
        for (String variant : List.of("snappy", "zstd-v2", "gzip", "plain-v2", "arrow-v1", "arrow-v2")) {
            Path file = fixture(dir, "mixed-" + variant + ".parquet");
            List<JsonRecord> read = readAll(file);
            assertEquals(expected.size(), read.size(), variant);
            for (int i = 0; i < expected.size(); i++) {
                // Compared as JSON text: an int column reads as an int node, the JSON Lines may hold a long node.
                assertEquals(expected.get(i).toString(), read.get(i).value().toString(), variant + " row " + i);
                assertEquals(RecordLocation.row(file, i), read.get(i).location());
            }
        }
    }

    @Test
    void hubStyleDatasetsReadAsTheirJsonLinesTwins() throws IOException {
        for (String name : List.of("chat", "pairs")) {
            List<JsonNode> expected = jsonLines(fixture(dir, name + ".jsonl"));
            List<JsonRecord> read = readAll(fixture(dir, name + ".parquet"));
            assertEquals(expected, read.stream().map(JsonRecord::value).toList(), name);
        }
    }

    @Test
    void aDamagedFileSaysWhatIsWrongAndWhere() throws IOException {
        byte[] good = Files.readAllBytes(fixture(dir, "mixed-snappy.parquet"));
        Path notParquet = dir.resolve("notes.parquet");
        Files.writeString(notParquet, "{\"text\": \"hello\"}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> readAll(notParquet));
        assertTrue(e.getMessage().contains(notParquet.toString()) && e.getMessage().contains("not a parquet file"),
                e.getMessage());

        Path truncated = dir.resolve("truncated.parquet");
        Files.write(truncated, Arrays.copyOf(good, good.length / 2));
        e = assertThrows(DatasetException.class, () -> readAll(truncated));
        assertTrue(e.getMessage().contains(truncated.toString()), e.getMessage());

        // A corrupt page inside: the error names the file and row group instead of yielding wrong rows.
        Random random = new Random(System.nanoTime());
        int failures = 0;
        for (int trial = 0; trial < 20; trial++) {
            byte[] bad = good.clone();
            int at = 4 + random.nextInt(good.length / 3);
            for (int k = 0; k < 64; k++) {
                bad[at + k] = (byte) random.nextInt();
            }
            Path file = dir.resolve("corrupt" + trial + ".parquet");
            Files.write(file, bad);
            try {
                readAll(file);
            } catch (DatasetException ex) {
                failures++;
                assertTrue(ex.getMessage().contains(file.toString()), ex.getMessage());
            } catch (RuntimeException ex) {
                throw new AssertionError("corrupt file gave " + ex + " instead of a DatasetException", ex);
            }
        }
        assertTrue(failures > 0, "no corruption was noticed");
    }

    @Test
    void aPageLargerThanTheCapIsRefusedBeforeItIsDecompressed() throws IOException {
        Path file = fixture(dir, "mixed-snappy.parquet");
        DatasetException e = assertThrows(DatasetException.class, () -> {
            try (ParquetRecordReader r = new ParquetRecordReader(file, new ReadLimits(1 << 20, 16))) {
                while (r.next() != null) {
                    // reads until the first page over the cap
                }
            }
        });
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("pages are read up to 16 "
                + "bytes (--max-data-bytes raises the cap)"), e.getMessage());
    }

    @Test
    void snappyBlocksOfAnotherImplementationDecompress() {
        Random random = new Random(System.nanoTime());
        SnappyJavaCompressor compressor = new SnappyJavaCompressor();
        for (int trial = 0; trial < 50; trial++) {
            int n = random.nextInt(200_000);
            byte[] data = new byte[n];
            // Mostly repetitive text (back-references of every length and distance) with random bytes between.
            byte[] alphabet = "abcab abc the cat\n".getBytes();
            for (int i = 0; i < n; i++) {
                data[i] = random.nextInt(10) == 0 ? (byte) random.nextInt() : alphabet[random.nextInt(alphabet.length)];
            }
            if (trial % 5 == 0 && n > 0) {
                Arrays.fill(data, 0, n / 2, (byte) 7); // long runs: overlapping copies
            }
            byte[] packed = new byte[compressor.maxCompressedLength(n)];
            int size = compressor.compress(data, 0, n, packed, 0, packed.length);
            assertArrayEquals(data, Snappy.decompress(packed, 0, size, n), "trial " + trial + ", " + n + " bytes");
        }
    }
}

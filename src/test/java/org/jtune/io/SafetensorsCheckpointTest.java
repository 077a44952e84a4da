package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sharded and single-file checkpoints: layout, index text, lookup across shards, errors. */
class SafetensorsCheckpointTest {
    @TempDir
    Path folder;

    private static TensorData randomTensor(Random random, String name, int bytes) {
        byte[] data = new byte[bytes];
        random.nextBytes(data);
        return TensorData.of(name, DType.U8, new long[] {bytes}, data);
    }

    @Test
    void shardsGreedilyWritesIndexAndReadsBack() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        // Max 100 bytes: t0+t1 = 80 (t2 would make 110), t3 alone (over the max), then t2+t4.
        List<TensorData> tensors = List.of(randomTensor(random, "t0", 40), randomTensor(random, "t1", 40),
                randomTensor(random, "t2", 30), randomTensor(random, "t3", 150), randomTensor(random, "t4", 10));
        SafetensorsCheckpointWriter.write(folder, tensors, 100);

        String expectedIndex = """
                {
                  "metadata": {
                    "total_size": 270
                  },
                  "weight_map": {
                    "t0": "model-00001-of-00003.safetensors",
                    "t1": "model-00001-of-00003.safetensors",
                    "t2": "model-00003-of-00003.safetensors",
                    "t3": "model-00002-of-00003.safetensors",
                    "t4": "model-00003-of-00003.safetensors"
                  }
                }
                """;
        assertEquals(expectedIndex, Files.readString(folder.resolve("model.safetensors.index.json")));
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), listFolder());

        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            assertEquals(List.of("t0", "t1", "t2", "t3", "t4"), checkpoint.names());
            assertEquals(3, checkpoint.files().size());
            for (TensorData tensor : tensors) {
                assertArrayEquals(tensor.data().toArray(ValueLayout.JAVA_BYTE),
                        checkpoint.data(tensor.name()).toArray(ValueLayout.JAVA_BYTE), tensor.name() + " seed " + seed);
            }
            assertEquals("model-00003-of-00003.safetensors",
                    checkpoint.fileOf("t4").path().getFileName().toString());
            assertEquals("pt", checkpoint.fileOf("t0").metadata().get("format"));
            SafetensorsFormatException missing = assertThrows(SafetensorsFormatException.class,
                    () -> checkpoint.info("t9"));
            assertTrue(missing.getMessage().contains("\"t9\"") && missing.getMessage().contains(folder.toString())
                    && missing.getMessage().contains("model.safetensors.index.json"), missing.getMessage());
        }
    }

    @Test
    void singleShardIsModelSafetensorsAndReplacesEarlierShards() throws IOException {
        Random random = new Random(7);
        SafetensorsCheckpointWriter.write(folder, List.of(randomTensor(random, "a", 60),
                randomTensor(random, "b", 60)), 100);
        assertEquals(3, listFolder().size());
        List<TensorData> small = List.of(randomTensor(random, "a", 10), randomTensor(random, "b", 10));
        SafetensorsCheckpointWriter.write(folder, small, SafetensorsCheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(List.of("model.safetensors"), listFolder());
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            assertEquals(List.of("a", "b"), checkpoint.names());
            assertArrayEquals(small.get(1).data().toArray(ValueLayout.JAVA_BYTE),
                    checkpoint.data("b").toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void missingShardNamesIndexAndShard() throws IOException {
        writeIndex("{\"metadata\":{},\"weight_map\":{\"w\":\"model-00001-of-00002.safetensors\"}}");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(folder));
        assertTrue(e.getMessage().contains("model.safetensors.index.json")
                && e.getMessage().contains("model-00001-of-00002.safetensors") && e.getMessage().contains("\"w\""),
                e.getMessage());
    }

    @Test
    void tensorAbsentFromItsShard() throws IOException {
        new SafetensorsWriter().add(TensorData.of("x", DType.U8, new long[] {1}, new byte[1]))
                .write(folder.resolve("shard.safetensors"));
        writeIndex("{\"weight_map\":{\"x\":\"shard.safetensors\",\"y\":\"shard.safetensors\"}}");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsCheckpoint.open(folder));
        assertTrue(e.getMessage().contains("\"y\"") && e.getMessage().contains("shard.safetensors")
                && e.getMessage().contains("index.json"), e.getMessage());
    }

    @Test
    void malformedIndexes() throws IOException {
        for (String index : List.of("{\"metadata\":{}}", "[1]", "{\"weight_map\":{\"x\":3}}",
                "{\"weight_map\":{\"x\":\"../other.safetensors\"}}", "{\"weight_map\":", 
                "{\"weight_map\":{\"x\":\"a\",\"x\":\"b\"}}")) {
            writeIndex(index);
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                    () -> SafetensorsCheckpoint.open(folder), index);
            assertTrue(e.getMessage().contains("model.safetensors.index.json"), e.getMessage());
        }
    }

    @Test
    void emptyFolder() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> SafetensorsCheckpoint.open(folder));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        assertFalse(Files.exists(folder.resolve("model.safetensors")));
    }

    private void writeIndex(String json) throws IOException {
        Files.writeString(folder.resolve("model.safetensors.index.json"), json);
    }

    private List<String> listFolder() throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}

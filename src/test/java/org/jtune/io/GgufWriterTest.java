package org.jtune.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufWriterTest {
    @TempDir
    Path temp;

    @Test
    void writesHeaderMetadataTensorInfosAndAlignedData() throws IOException {
        Random rnd = new Random(11);
        GgufMetadata m = new GgufMetadata()
                .putString("general.architecture", "llama")
                .putUInt32("llama.block_count", 4_000_000_000L)
                .putInt32("some.int", -7)
                .putUInt64("some.u64", 1L << 40)
                .putFloat32("some.float", 1e-5f)
                .putBool("some.bool", true)
                .putStringArray("tokenizer.ggml.tokens", List.of("a", "ü", "", "日本"))
                .putInt32Array("tokenizer.ggml.token_type", new int[] {1, 3, -2})
                .putFloat32Array("tokenizer.ggml.scores", new float[] {0f, -1.5f});
        GgufTensorInfo vector = GgufTensorInfo.vector("v", GgmlType.F32, 3);
        GgufTensorInfo matrix = GgufTensorInfo.matrix("m", GgmlType.F16, 5, 7);
        GgufTensorInfo blocks = GgufTensorInfo.matrix("q", GgmlType.Q8_0, 2, 64);
        List<GgufTensorInfo> infos = List.of(vector, matrix, blocks);
        byte[][] data = new byte[3][];
        for (int i = 0; i < 3; i++) {
            data[i] = new byte[(int) infos.get(i).byteSize()];
            rnd.nextBytes(data[i]);
        }
        assertEquals(12, vector.byteSize());
        assertEquals(70, matrix.byteSize());
        assertEquals(2 * 2 * 34, blocks.byteSize());
        Path file = temp.resolve("out.gguf");
        GgufWriter.write(file, m, List.of(
                new GgufWriter.Tensor(vector, sink -> sink.write(data[0], 0, data[0].length)),
                // written in two pieces: the sink concatenates
                new GgufWriter.Tensor(matrix, sink -> {
                    sink.write(data[1], 0, 33);
                    sink.write(data[1], 33, data[1].length - 33);
                }),
                new GgufWriter.Tensor(blocks, sink -> sink.write(data[2], 0, data[2].length))), GgufWriter.Progress.NONE);

        GgufFileReader r = new GgufFileReader(file);
        assertEquals(3, r.version);
        assertEquals(List.of("general.architecture", "llama.block_count", "some.int", "some.u64", "some.float",
                "some.bool", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"),
                List.copyOf(r.metadata.keySet()));
        assertEquals("llama", r.metadata.get("general.architecture"));
        assertEquals(8, r.metadataTypes.get("general.architecture"));
        assertEquals(4_000_000_000L, r.metadata.get("llama.block_count"));
        assertEquals(4, r.metadataTypes.get("llama.block_count"));
        assertEquals(-7, r.metadata.get("some.int"));
        assertEquals(5, r.metadataTypes.get("some.int"));
        assertEquals(1L << 40, r.metadata.get("some.u64"));
        assertEquals(10, r.metadataTypes.get("some.u64"));
        assertEquals(1e-5f, r.metadata.get("some.float"));
        assertEquals(true, r.metadata.get("some.bool"));
        assertEquals(7, r.metadataTypes.get("some.bool"));
        assertEquals(List.of("a", "ü", "", "日本"), r.metadata.get("tokenizer.ggml.tokens"));
        assertEquals(List.of(1, 3, -2), r.metadata.get("tokenizer.ggml.token_type"));
        assertEquals(List.of(0f, -1.5f), r.metadata.get("tokenizer.ggml.scores"));

        assertEquals(3, r.tensors.size());
        assertEquals(0, r.dataStart % 32);
        long expectedOffset = 0;
        for (int i = 0; i < 3; i++) {
            GgufFileReader.TensorEntry t = r.tensors.get(i);
            assertEquals(infos.get(i).name(), t.name());
            assertEquals(infos.get(i).type().id(), t.type());
            assertEquals(0, t.offset() % 32, "tensor data aligned to 32 bytes");
            assertEquals(expectedOffset, t.offset());
            expectedOffset = (t.offset() + infos.get(i).byteSize() + 31) / 32 * 32;
            assertArrayEquals(data[i], r.data(t, data[i].length), t.name());
        }
        assertArrayEquals(new long[] {3}, r.tensors.get(0).dims());
        assertArrayEquals(new long[] {7, 5}, r.tensors.get(1).dims(), "ggml order: row length first");
        assertArrayEquals(new long[] {64, 2}, r.tensors.get(2).dims());
        assertEquals(r.dataStart + r.tensors.get(2).offset() + blocks.byteSize(), Files.size(file));
        // ggml's type ids
        assertEquals(List.of(0, 1, 2, 6, 8, 12, 13, 14, 30), Stream.of(GgmlType.values()).map(GgmlType::id).toList());
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = temp.resolve("model.gguf");
        Files.writeString(file, "old content");
        GgufTensorInfo info = GgufTensorInfo.vector("v", GgmlType.F32, 4);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> GgufWriter.write(file,
                new GgufMetadata(), List.of(new GgufWriter.Tensor(info, sink -> sink.write(new byte[12], 0, 12))),
                GgufWriter.Progress.NONE));
        assertTrue(e.getMessage().contains("tensor v: 12 bytes were written, its type and shape make 16"), e.getMessage());
        assertEquals("old content", Files.readString(file));
        try (Stream<Path> files = Files.list(temp)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
        RuntimeException cause = new RuntimeException("disk full");
        assertThrows(RuntimeException.class, () -> GgufWriter.write(file, new GgufMetadata(),
                List.of(new GgufWriter.Tensor(info, sink -> {
                    throw cause;
                })), GgufWriter.Progress.NONE));
        assertEquals("old content", Files.readString(file));
    }

    @Test
    void refusesDuplicatesAndRowsThatAreNotWholeBlocks() {
        GgufMetadata m = new GgufMetadata().putString("a", "x");
        assertThrows(IllegalArgumentException.class, () -> m.putUInt32("a", 1));
        assertThrows(IllegalArgumentException.class, () -> m.putUInt32("b", -1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufTensorInfo.matrix("blk.0.ffn_down.weight", GgmlType.Q4_K, 4, 352));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight") && e.getMessage().contains("256"), e.getMessage());
        GgufTensorInfo t = GgufTensorInfo.vector("v", GgmlType.F32, 1);
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.write(temp.resolve("x.gguf"), m,
                List.of(new GgufWriter.Tensor(t, s -> { }), new GgufWriter.Tensor(t, s -> { })),
                GgufWriter.Progress.NONE));
    }
}

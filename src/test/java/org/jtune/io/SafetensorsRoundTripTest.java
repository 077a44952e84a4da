package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writer then reader: every dtype, float conversions against independent references, large data. */
class SafetensorsRoundTripTest {
    @TempDir
    Path folder;

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void everyDtypeRoundTripsBytesAndShapes() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt").metadata("note", "é ü");
        List<TensorData> written = new ArrayList<>();
        for (DType dtype : DType.values()) {
            // Sub-byte types need a bit count that is a multiple of 8: use an even number of 4- or 6-bit items
            // times 4 (6 * 4 = 24 bits).
            long[] shape = {1 + random.nextInt(3), 4 * (1 + random.nextInt(5))};
            byte[] bytes = new byte[(int) (shape[0] * shape[1] * dtype.bits() / 8)];
            random.nextBytes(bytes);
            TensorData tensor = TensorData.of("t." + dtype.name().toLowerCase(), dtype, shape, bytes);
            written.add(tensor);
            writer.add(tensor);
        }
        writer.add(TensorData.of("scalar", DType.I64, new long[0], new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
        writer.add(TensorData.of("empty", DType.F32, new long[] {0, 5}, new byte[0]));
        Path file = folder.resolve("all.safetensors");
        writer.write(file);

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt", "note", "é ü"), st.metadata(), "seed " + seed);
            assertEquals(written.size() + 2, st.names().size(), "seed " + seed);
            for (TensorData tensor : written) {
                TensorInfo info = st.info(tensor.name());
                assertEquals(tensor.dtype(), info.dtype(), tensor.name() + " seed " + seed);
                assertArrayEquals(tensor.shape(), info.shape(), tensor.name() + " seed " + seed);
                assertArrayEquals(tensor.data().toArray(ValueLayout.JAVA_BYTE),
                        st.data(tensor.name()).toArray(ValueLayout.JAVA_BYTE), tensor.name() + " seed " + seed);
            }
            assertEquals(0, st.info("scalar").shape().length);
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, st.data("scalar").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, st.data("empty").byteSize());
            assertTrue(st.data("scalar").isReadOnly());
        }
    }

    @Test
    void readFloatsDecodesEachFloatType() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int n = 1000;
        float[] f32 = new float[n];
        double[] f64 = new double[n];
        short[] bf16 = new short[n];
        short[] f16 = new short[n];
        for (int i = 0; i < n; i++) {
            f32[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(20) - 10));
            f64[i] = random.nextGaussian() * Math.pow(10, random.nextInt(60) - 30);
            bf16[i] = finiteHalfBits(random, 8);
            f16[i] = finiteHalfBits(random, 5);
        }
        MemorySegment bf16Bytes = MemorySegment.ofArray(new byte[2 * n]);
        MemorySegment f16Bytes = MemorySegment.ofArray(new byte[2 * n]);
        MemorySegment f64Bytes = MemorySegment.ofArray(new byte[8 * n]);
        for (int i = 0; i < n; i++) {
            bf16Bytes.setAtIndex(I16, i, bf16[i]);
            f16Bytes.setAtIndex(I16, i, f16[i]);
            f64Bytes.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, f64[i]);
        }
        Path file = folder.resolve("floats.safetensors");
        new SafetensorsWriter()
                .add(TensorData.ofFloats("f32", DType.F32, new long[] {n}, f32))
                .add("bf16", DType.BF16, new long[] {n}, bf16Bytes)
                .add("f16", DType.F16, new long[] {10, n / 10}, f16Bytes)
                .add("f64", DType.F64, new long[] {n}, f64Bytes)
                .write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            float[] readF32 = st.readFloats("f32");
            float[] readBf16 = st.readFloats("bf16");
            float[] readF16 = st.readFloats("f16");
            float[] readF64 = st.readFloats("f64");
            for (int i = 0; i < n; i++) {
                String where = " at " + i + ", seed " + seed;
                assertEquals(Float.floatToRawIntBits(f32[i]), Float.floatToRawIntBits(readF32[i]), "F32" + where);
                assertExact(halfValue(bf16[i], 8, 7, 127), readBf16[i], "BF16" + where);
                assertExact(halfValue(f16[i], 5, 10, 15), readF16[i], "F16" + where);
                assertExact((float) f64[i], readF64[i], "F64" + where);
            }
        }
    }

    @Test
    void floatsStoredAsBf16AndF16RoundToNearest() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        float[] values = new float[500];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * 100);
        }
        Path file = folder.resolve("half.safetensors");
        new SafetensorsWriter()
                .add(TensorData.ofFloats("b", DType.BF16, new long[] {values.length}, values))
                .add(TensorData.ofFloats("h", DType.F16, new long[] {values.length}, values))
                .write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            float[] b = st.readFloats("b");
            float[] h = st.readFloats("h");
            for (int i = 0; i < values.length; i++) {
                // Round to nearest: the error is at most half a unit in the last place of the format.
                double x = values[i];
                double ulpBf16 = Math.ulp((float) x) * 65536.0;
                assertTrue(Math.abs(b[i] - x) <= ulpBf16 / 2, "BF16 " + x + " -> " + b[i] + " seed " + seed);
                double ulpF16 = Math.pow(2, Math.max(Math.getExponent(x), -14) - 10);
                assertTrue(Math.abs(h[i] - x) <= ulpF16 / 2, "F16 " + x + " -> " + h[i] + " seed " + seed);
            }
        }
    }

    @Test
    void streamsOffHeapTensorLargerThanOneChunk() throws IOException {
        long bytes = (64L << 20) + 12_347; // past the 64 MiB write chunk
        Path file = folder.resolve("large.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(bytes);
            for (long i = 0; i + 8 <= bytes; i += 8) {
                data.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
            }
            new SafetensorsWriter().add("big", DType.U8, new long[] {bytes}, data).write(file);
            try (SafetensorsFile st = SafetensorsFile.open(file)) {
                MemorySegment read = st.data("big");
                assertEquals(bytes, read.byteSize());
                assertEquals(-1L, read.mismatch(data), "first differing byte");
            }
        }
    }

    @Test
    void writeReplacesExistingFileAndLeavesNoTemporaryFiles() throws IOException {
        Path file = folder.resolve("model.safetensors");
        Files.writeString(file, "old content");
        new SafetensorsWriter().add(TensorData.of("x", DType.U8, new long[] {3}, new byte[] {7, 8, 9})).write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(new byte[] {7, 8, 9}, st.data("x").toArray(ValueLayout.JAVA_BYTE));
        }
        try (var files = Files.list(folder)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void writerRejectsWrongSizeAndDuplicates() {
        assertThrows(IllegalArgumentException.class,
                () -> TensorData.of("x", DType.F32, new long[] {2}, new byte[7]));
        SafetensorsWriter writer = new SafetensorsWriter().add(TensorData.of("x", DType.U8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class,
                () -> writer.add(TensorData.of("x", DType.U8, new long[] {1}, new byte[1])));
    }

    @Test
    void dataIsUnusableAfterClose() throws IOException {
        Path file = folder.resolve("c.safetensors");
        new SafetensorsWriter().add(TensorData.of("x", DType.U8, new long[] {1}, new byte[] {5})).write(file);
        MemorySegment data;
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            data = st.data("x");
        }
        assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_BYTE, 0));
    }

    /** Random 16-bit float bits with {@code exponentBits} exponent bits, never Inf/NaN. */
    private static short finiteHalfBits(Random random, int exponentBits) {
        int mantissaBits = 15 - exponentBits;
        int maxExponent = (1 << exponentBits) - 1;
        int exponent = random.nextInt(maxExponent); // 0 .. max-1: subnormals included, Inf/NaN excluded
        int mantissa = random.nextInt(1 << mantissaBits);
        int sign = random.nextInt(2);
        return (short) ((sign << 15) | (exponent << mantissaBits) | mantissa);
    }

    /** The value of a 16-bit float from its fields, computed in double (exact for both formats). */
    private static double halfValue(short bits, int exponentBits, int mantissaBits, int bias) {
        int sign = (bits >> 15) & 1;
        int exponent = (bits >> mantissaBits) & ((1 << exponentBits) - 1);
        int mantissa = bits & ((1 << mantissaBits) - 1);
        double magnitude = exponent == 0
                ? mantissa * Math.pow(2, 1 - bias - mantissaBits)
                : (1 + mantissa / Math.pow(2, mantissaBits)) * Math.pow(2, exponent - bias);
        return sign == 1 ? -magnitude : magnitude;
    }

    private static void assertExact(double expected, float actual, String message) {
        assertTrue(!Float.isNaN(actual) && actual == expected, message + ": expected " + expected + " got " + actual);
    }
}

package org.jtune.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @Test
    void rowViewsShareMemoryAndReshapeKeepsData() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[12];
            for (int i = 0; i < values.length; i++) {
                values[i] = rnd.nextFloat();
            }
            Tensor t = Tensor.of(arena, values, 4, 3);
            Tensor middle = t.rows(1, 2);
            assertArrayEquals(new long[] {2, 3}, middle.shape());
            assertEquals(values[3], middle.get(0), "seed " + seed);
            middle.set(5, 42f);
            assertEquals(42f, t.get(8));
            assertArrayEquals(t.toFloatArray(), t.reshape(2, 6).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.rows(3, 2));
        }
    }

    @Test
    void halfPrecisionStorageRoundsAndConvertsBack() {
        try (Arena arena = Arena.ofConfined()) {
            for (DType type : new DType[] {DType.BF16, DType.F16}) {
                Tensor t = Tensor.allocate(arena, type, 1, 64);
                float[] row = new float[64];
                for (int i = 0; i < 64; i++) {
                    float v = (float) rnd.nextGaussian();
                    t.set(i, v);
                    float expected = type == DType.BF16 ? HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v))
                            : HalfFloats.f16ToFloat(HalfFloats.floatToF16(v));
                    assertEquals(expected, t.get(i), type + " element " + i + ", seed " + seed);
                }
                t.readRow(0, row);
                assertArrayEquals(t.toFloatArray(), row);
            }
        }
    }

    @Test
    void clearErrors() {
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(arena.allocate(10), DType.F32, 2, 2));
            assertTrue(small.getMessage().contains("10 bytes"), small.getMessage());
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.f32(arena, 2, 3).requireShape("q weight", 3, 2));
            assertTrue(shape.getMessage().contains("q weight") && shape.getMessage().contains("[2, 3]"),
                    shape.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, DType.U8, 4));
            assertThrows(IllegalArgumentException.class, () -> Tensor.f32(arena, 2, -1));
        }
    }
}

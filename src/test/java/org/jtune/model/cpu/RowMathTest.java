package org.jtune.model.cpu;

import org.jtune.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Both kernel sets against double-precision sums on fresh random rows of every length from 1 to 300 (whole
 * vectors, tails, and rows shorter than one vector), at unaligned offsets; every output element checked.
 */
class RowMathTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private static List<RowMath> kernels() {
        List<RowMath> list = new ArrayList<>(List.of(new ScalarRowMath()));
        if (RowMath.vectorApiAvailable()) {
            list.add(new VectorRowMath());
        }
        return list;
    }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    private void close(double expected, float actual, int n, String what) {
        // float32 sums of n products of unit-variance values: error grows like sqrt(n) ulps of the magnitudes
        double tolerance = 1e-5 * Math.sqrt(n) * (1 + Math.abs(expected));
        if (!(Math.abs(actual - expected) <= tolerance)) {
            fail("seed " + seed + ", " + what + ", n " + n + ": " + actual + ", expected " + expected);
        }
    }

    @Test
    void dotProducts() {
        for (RowMath math : kernels()) {
            for (int n = 1; n <= 300; n++) {
                int aOff = rnd.nextInt(5), bOff = rnd.nextInt(5), stride = n + rnd.nextInt(4);
                float[] a = random(aOff + n), b = random(bOff + 3 * stride + n);
                double[] expected = new double[4];
                for (int k = 0; k < 4; k++) {
                    for (int i = 0; i < n; i++) {
                        expected[k] += (double) a[aOff + i] * b[bOff + k * stride + i];
                    }
                }
                close(expected[0], math.dot(a, aOff, b, bOff, n), n, math.describe() + " dot");
                float[] four = {Float.NaN, Float.NaN, Float.NaN, Float.NaN};
                math.dot4(a, aOff, b, bOff, stride, n, four);
                for (int k = 0; k < 4; k++) {
                    close(expected[k], four[k], n, math.describe() + " dot4[" + k + "]");
                }
            }
        }
    }

    @Test
    void offHeapRows() {
        try (Arena arena = Arena.ofConfined()) {
            for (RowMath math : kernels()) {
                for (int n = 1; n <= 300; n++) {
                    int off = rnd.nextInt(5);
                    float[] a = random(off + n), x = random(n), y = random(off + n), y0 = y.clone();
                    MemorySegment seg = arena.allocate(4L * n + 12);
                    long at = 4L * rnd.nextInt(3);
                    double expected = 0;
                    for (int i = 0; i < n; i++) {
                        seg.set(F32, at + 4L * i, x[i]);
                        expected += (double) a[off + i] * x[i];
                    }
                    close(expected, math.dot(a, off, seg, at, n), n, math.describe() + " segment dot");
                    float alpha = (float) rnd.nextGaussian();
                    math.axpy(alpha, seg, at, y, off, n);
                    for (int i = 0; i < n; i++) {
                        close(y0[off + i] + (double) alpha * x[i], y[off + i], 1, math.describe() + " axpy " + i);
                    }
                    for (int i = 0; i < off; i++) {
                        assertEquals(y0[i], y[i], "axpy wrote before its start");
                    }
                }
            }
        }
    }

    @Test
    void bf16IsWidenedExactly() {
        try (Arena arena = Arena.ofConfined()) {
            for (RowMath math : kernels()) {
                for (int n = 1; n <= 300; n++) {
                    MemorySegment seg = arena.allocate(2L * n + 6);
                    long at = 2L * rnd.nextInt(3);
                    short[] bits = new short[n];
                    for (int i = 0; i < n; i++) {
                        bits[i] = HalfFloats.floatToBf16((float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 5)));
                        seg.set(I16, at + 2L * i, bits[i]);
                    }
                    int off = rnd.nextInt(4);
                    float[] out = new float[off + n + 2];
                    java.util.Arrays.fill(out, Float.NaN);
                    math.widenBf16(seg, at, out, off, n);
                    for (int i = 0; i < n; i++) {
                        assertEquals(HalfFloats.bf16ToFloat(bits[i]), out[off + i], math.describe() + ", n " + n);
                    }
                    assertEquals(Float.NaN, out[off + n], "wrote past the row");
                }
            }
        }
    }
}

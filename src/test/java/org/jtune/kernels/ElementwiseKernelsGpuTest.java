package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** elementwise.ptx: residual add and conversions, bit for bit against torch's rounding rules written in Java. */
@GpuTest
class ElementwiseKernelsGpuTest {
    /** Values where rounding is delicate: signed zeros, subnormals, overflow to infinity, ties. */
    private static final float[] SPECIAL = {0f, -0f, Float.MIN_VALUE, -Float.MIN_NORMAL, Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x3F808000),
        Float.intBitsToFloat(0x3F818000), Float.intBitsToFloat(0x3F80C000), 1e-40f};

    private static float[] floats(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i < SPECIAL.length ? SPECIAL[i]
                    : (float) ((random.nextDouble() * 2 - 1) * Math.scalb(1.0, random.nextInt(-30, 30)));
        }
        return values;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 9, 1000, 1_000_003})
    void residualAddRoundsTheExactSumOnce(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] y = KernelTests.randomBf16(random, n, 4.0);
        short[] x = KernelTests.randomBf16(random, n, 4.0);
        Context context = KernelTests.context();
        ElementwiseKernels kernels = new ElementwiseKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dy = KernelTests.upload(context, y);
             DeviceBuffer dx = KernelTests.upload(context, x)) {
            kernels.residualAdd(stream, dy, dx, n);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(dy, n);
            for (int i = 0; i < n; i++) {
                // torch adds in float32 and rounds to bf16; the float32 sum of two bf16 only rounds
                // when one is below 2^-15 of the other, too small to move the bf16 result.
                KernelTests.assertSameBf16(toBf16(bf16(y[i]) + bf16(x[i])), result[i],
                        "y[" + i + "] = " + bf16(y[i]) + " + " + bf16(x[i]) + " (n " + n + ", seed " + seed + ")");
            }
        }
    }

    /** Every row gets the bias, each element one rounding of the exact sum; rows beyond the 16-bit grid too. */
    @ParameterizedTest
    @CsvSource({"1,8", "3,24", "100,3584", "7,4608", "70000,16"})
    void biasAddAddsTheBiasRowToEveryRow(int rows, int cols) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int n = rows * cols;
        short[] y = KernelTests.randomBf16(random, n, 4.0);
        short[] b = KernelTests.randomBf16(random, cols, 1.0);
        Context context = KernelTests.context();
        ElementwiseKernels kernels = new ElementwiseKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dy = KernelTests.upload(context, y);
             DeviceBuffer db = KernelTests.upload(context, b)) {
            kernels.biasAdd(stream, dy, db, rows, cols);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(dy, n);
            for (int i = 0; i < n; i++) {
                int c = i % cols;
                KernelTests.assertSameBf16(toBf16(bf16(y[i]) + bf16(b[c])), result[i], "y[" + i / cols + "][" + c
                        + "] = " + bf16(y[i]) + " + " + bf16(b[c]) + " (" + rows + "x" + cols + ", seed " + seed + ")");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 11, 1000, 1_000_003})
    void floatToBf16RoundsToNearestEven(int n) {
        long seed = System.nanoTime();
        float[] in = floats(new SplittableRandom(seed), n);
        Context context = KernelTests.context();
        ElementwiseKernels kernels = new ElementwiseKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer din = KernelTests.upload(context, in);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.floatToBf16(stream, out, din, n);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(out, n);
            for (int i = 0; i < n; i++) {
                KernelTests.assertSameBf16(toBf16(in[i]), result[i],
                        "bf16(" + in[i] + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(in[i])) + ") at " + i
                                + " (n " + n + ", seed " + seed + ")");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 11, 1000, 1_000_003})
    void bf16ToFloatIsExact(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] in = new short[n];
        for (int i = 0; i < n; i++) {
            in[i] = (short) random.nextInt(1 << 16);
            if (Float.isNaN(bf16(in[i]))) {
                in[i] = 0x7F80;
            }
        }
        Context context = KernelTests.context();
        ElementwiseKernels kernels = new ElementwiseKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer din = KernelTests.upload(context, in);
             DeviceBuffer out = KernelTests.poisonedFloats(context, stream, n)) {
            kernels.bf16ToFloat(stream, out, din, n);
            stream.synchronize();
            float[] result = KernelTests.downloadFloats(out, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(bf16(in[i])), Float.floatToRawIntBits(result[i]),
                        "float(bf16 " + KernelTests.hex(in[i]) + ") at " + i + " (n " + n + ", seed " + seed + ")");
            }
        }
    }

    @Test
    void nanStaysNan() {
        int n = 9;
        float[] in = new float[n];
        in[n - 1] = Float.NaN;
        Context context = KernelTests.context();
        ElementwiseKernels kernels = new ElementwiseKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer din = KernelTests.upload(context, in);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.floatToBf16(stream, out, din, n);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(out, n);
            assertTrue(Float.isNaN(bf16(result[n - 1])), "bf16(NaN) = " + KernelTests.hex(result[n - 1]));
            assertEquals(0, result[0], "bf16(0)");
        }
    }
}

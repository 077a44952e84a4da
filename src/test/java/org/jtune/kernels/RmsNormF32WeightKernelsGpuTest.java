package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.bf16;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * rmsnorm_f32w.ptx against Gemma3RMSNorm in double (normalize, times the float32 weight 1 + w, one bf16 rounding)
 * and its input gradient, on fresh random inputs: hidden rows, head rows, and head rows inside wider rows written in
 * place (the columns past the heads must keep their values).
 */
@GpuTest
class RmsNormF32WeightKernelsGpuTest {
    private static final float EPS = 1e-6f;

    /** Gemma's effective weight: 1 + w added in float32 from a bf16 w, as HF's (1.0 + weight.float()). */
    private static float[] unitOffsetWeights(SplittableRandom random, int d) {
        short[] w = KernelTests.randomBf16(random, d, 1.5);
        float[] effective = new float[d];
        for (int j = 0; j < d; j++) {
            effective[j] = 1.0f + bf16(w[j]);
        }
        return effective;
    }

    private static double rstd(short[] x, int offset, int d) {
        double squares = 0;
        for (int j = 0; j < d; j++) {
            double v = bf16(x[offset + j]);
            squares += v * v;
        }
        return 1 / Math.sqrt(squares / d + EPS);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 8, 8", "7, 1, 3840, 3840", "13, 1, 1002, 1002", "5, 8, 256, 2048", "3, 4, 256, 2048",
            "33, 2, 64, 200"})
    void forwardMatchesGemmaNormInPlace(int tokens, int heads, int d, int ld) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int n = (tokens - 1) * ld + heads * d;
        short[] x = KernelTests.randomBf16(random, n, 3.0);
        float[] w = unitOffsetWeights(random, d);
        Context context = KernelTests.context();
        RmsNormF32WeightKernels kernels = new RmsNormF32WeightKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer dw = KernelTests.upload(context, w);
             DeviceBuffer drstd = KernelTests.poisonedFloats(context, stream, (long) tokens * heads)) {
            kernels.forward(stream, dx, drstd, dx, dw, tokens, heads, d, ld, EPS);
            stream.synchronize();
            short[] y = KernelTests.downloadBf16(dx, n);
            float[] r = KernelTests.downloadFloats(drstd, tokens * heads);
            for (int t = 0; t < tokens; t++) {
                for (int h = 0; h < heads; h++) {
                    int offset = t * ld + h * d;
                    double expectedR = rstd(x, offset, d);
                    String row = "row (" + t + ", " + h + ") of " + tokens + "x" + heads + "x" + d + " ld " + ld
                            + ", seed " + seed;
                    KernelTests.assertWithin(expectedR, r[t * heads + h], 1e-5 * expectedR, "rstd of " + row);
                    for (int j = 0; j < d; j++) {
                        double expected = bf16(x[offset + j]) * expectedR * w[j];
                        KernelTests.assertWithin(expected, bf16(y[offset + j]),
                                (BF16_EPS * 1.01 + 1e-5) * Math.abs(expected) + 1e-30, "y[" + j + "] of " + row);
                    }
                }
                for (int j = heads * d; j < ld && t < tokens - 1; j++) {
                    KernelTests.assertSameBf16(x[t * ld + j], y[t * ld + j],
                            "column " + j + " of token " + t + " past the heads, seed " + seed);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 8, 8", "7, 1, 3840, 3840", "13, 1, 1002, 1002", "5, 8, 256, 2048", "33, 2, 64, 200"})
    void backwardMatchesGradientInPlace(int tokens, int heads, int d, int ld) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int n = (tokens - 1) * ld + heads * d;
        short[] x = KernelTests.randomBf16(random, n, 3.0);
        short[] dy = KernelTests.randomBf16(random, n, 1.0);
        float[] w = unitOffsetWeights(random, d);
        float[] r = new float[tokens * heads];
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                r[t * heads + h] = (float) rstd(x, t * ld + h * d, d);
            }
        }
        Context context = KernelTests.context();
        RmsNormF32WeightKernels kernels = new RmsNormF32WeightKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dxb = KernelTests.upload(context, x);
             DeviceBuffer ddy = KernelTests.upload(context, dy);
             DeviceBuffer dw = KernelTests.upload(context, w);
             DeviceBuffer dr = KernelTests.upload(context, r)) {
            kernels.backward(stream, ddy, ddy, dxb, dw, dr, tokens, heads, d, ld);
            stream.synchronize();
            short[] dx = KernelTests.downloadBf16(ddy, n);
            for (int t = 0; t < tokens; t++) {
                for (int h = 0; h < heads; h++) {
                    int offset = t * ld + h * d;
                    double rr = r[t * heads + h];
                    double dot = 0, dotAbs = 0;
                    for (int j = 0; j < d; j++) {
                        double g = bf16(dy[offset + j]) * (double) w[j];
                        dot += g * bf16(x[offset + j]);
                        dotAbs += Math.abs(g * bf16(x[offset + j]));
                    }
                    double c = rr * rr * rr * dot / d;
                    double cAbs = rr * rr * rr * dotAbs / d;
                    String row = "row (" + t + ", " + h + ") of " + tokens + "x" + heads + "x" + d + " ld " + ld
                            + ", seed " + seed;
                    for (int j = 0; j < d; j++) {
                        double xj = bf16(x[offset + j]);
                        double g = bf16(dy[offset + j]) * (double) w[j];
                        double expected = rr * g - xj * c;
                        // One bf16 rounding of the result; float32 error of both terms (the sum of g x in float32
                        // grows with the row length).
                        double bound = BF16_EPS * 1.01 * Math.abs(expected)
                                + 1e-5 * (Math.abs(rr * g) + Math.abs(xj) * cAbs * (1 + d * 1e-3)) + 1e-30;
                        KernelTests.assertWithin(expected, bf16(dx[offset + j]), bound, "dx[" + j + "] of " + row);
                    }
                }
                for (int j = heads * d; j < ld && t < tokens - 1; j++) {
                    KernelTests.assertSameBf16(dy[t * ld + j], dx[t * ld + j],
                            "column " + j + " of token " + t + " past the heads, seed " + seed);
                }
            }
        }
    }
}

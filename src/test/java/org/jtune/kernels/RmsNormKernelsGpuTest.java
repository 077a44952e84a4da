package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.F32_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16;
import static org.jtune.kernels.KernelTests.toBf16Exact;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** rmsnorm.ptx against double-precision RMSNorm with HF's bf16 roundings, on fresh random rows. */
@GpuTest
class RmsNormKernelsGpuTest {
    private static final float EPS = 1e-5f;

    /** Terms one thread adds in float32 before the tree (8 per vector), plus the tree and final roundings. */
    private static double sumRoundings(int d) {
        int vectors = d / 8;
        int threads = Math.min(1024, Math.max(32, (vectors + 31) / 32 * 32));
        return 8.0 * ((vectors + threads - 1) / threads) + 48;
    }

    @ParameterizedTest
    @CsvSource({"1,8", "3,136", "17,4096", "64,4096", "5,5120", "7,11008", "2,14336"})
    void forwardMatchesHfFormula(int rows, int d) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] x = KernelTests.randomBf16(random, rows * d, 3.0);
        short[] w = KernelTests.randomBf16(random, d, 2.0);
        String shape = rows + "x" + d + ", seed " + seed;
        Context context = KernelTests.context();
        RmsNormKernels kernels = new RmsNormKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer dw = KernelTests.upload(context, w);
             DeviceBuffer dy = KernelTests.poisonedBf16(context, stream, (long) rows * d);
             DeviceBuffer drstd = KernelTests.poisonedFloats(context, stream, rows)) {
            kernels.forward(stream, dy, drstd, dx, dw, rows, d, EPS);
            stream.synchronize();
            short[] y = KernelTests.downloadBf16(dy, rows * d);
            float[] rstd = KernelTests.downloadFloats(drstd, rows);
            for (int r = 0; r < rows; r++) {
                double squares = 0;
                for (int j = 0; j < d; j++) {
                    double v = bf16(x[r * d + j]);
                    squares += v * v;
                }
                double exact = 1 / Math.sqrt(squares / d + EPS);
                double rstdBound = sumRoundings(d) * F32_EPS * exact;
                KernelTests.assertWithin(exact, rstd[r], rstdBound, "rstd of row " + r + " (" + shape + ")");
                for (int j = 0; j < d; j++) {
                    int i = r * d + j;
                    String where = "y[" + r + "][" + j + "] (" + shape + ")";
                    // Against double: two bf16 roundings (normalized value, product) plus the rstd error.
                    double ideal = bf16(x[i]) * exact * bf16(w[j]);
                    double bound = (2 * BF16_EPS * 1.01 + sumRoundings(d) * F32_EPS) * Math.abs(ideal) + 1e-30;
                    KernelTests.assertWithin(ideal, bf16(y[i]), bound, where);
                    // Exactly HF's roundings, given the rstd the kernel saved (checked above against double):
                    // float32 x*r, round to bf16, then one rounding of the exact bf16 product.
                    short normalized = toBf16(bf16(x[i]) * rstd[r]);
                    short expected = toBf16Exact((double) bf16(normalized) * bf16(w[j]));
                    KernelTests.assertSameBf16(expected, y[i], where + " vs HF roundings with rstd " + rstd[r]);
                }
            }
        }
    }

    /**
     * The heads forward (Qwen3's q/k norms) on rows of head_dim inside token rows of stride ld: each head row
     * normalized as the forward above, against double and bit for bit against HF's roundings given the saved rstd;
     * the columns of a token row outside its heads (the k and v of a fused row, or padding) are left untouched.
     */
    @ParameterizedTest
    @CsvSource({
        // tokens, heads, head_dim, ld (0: heads x head_dim, contiguous)
        "1,1,64,0", "37,4,128,0", "300,2,64,0", "16,32,128,6144", "5,8,128,1032", "9,3,256,0", "3,5,8,48"})
    void headsForwardNormalizesEveryHeadRowInPlace(int tokens, int heads, int headDim, int ldOrZero) {
        int ld = ldOrZero == 0 ? heads * headDim : ldOrZero;
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int elements = tokens * ld;
        short[] x = KernelTests.randomBf16(random, elements, 3.0);
        short[] w = KernelTests.randomBf16(random, headDim, 2.0);
        String shape = tokens + " tokens x " + heads + " heads x " + headDim + ", ld " + ld + ", seed " + seed;
        Context context = KernelTests.context();
        RmsNormKernels kernels = new RmsNormKernels(context);
        int rows = tokens * heads;
        try (Stream stream = context.createStream();
             DeviceBuffer dxy = KernelTests.upload(context, x);
             DeviceBuffer dw = KernelTests.upload(context, w);
             DeviceBuffer drstd = KernelTests.poisonedFloats(context, stream, rows)) {
            kernels.forwardHeads(stream, dxy, drstd, dxy, dw, tokens, heads, headDim, ld, EPS);
            stream.synchronize();
            short[] y = KernelTests.downloadBf16(dxy, elements);
            float[] rstd = KernelTests.downloadFloats(drstd, rows);
            for (int t = 0; t < tokens; t++) {
                for (int j = heads * headDim; j < ld; j++) {
                    KernelTests.assertSameBf16(x[t * ld + j], y[t * ld + j],
                            "column " + j + " of token " + t + " is outside the heads (" + shape + ")");
                }
                for (int h = 0; h < heads; h++) {
                    int start = t * ld + h * headDim;
                    double squares = 0;
                    for (int j = 0; j < headDim; j++) {
                        double v = bf16(x[start + j]);
                        squares += v * v;
                    }
                    double exact = 1 / Math.sqrt(squares / headDim + EPS);
                    float r = rstd[t * heads + h];
                    KernelTests.assertWithin(exact, r, (headDim / 32.0 + 40) * F32_EPS * exact,
                            "rstd of token " + t + ", head " + h + " (" + shape + ")");
                    for (int j = 0; j < headDim; j++) {
                        int i = start + j;
                        String where = "token " + t + ", head " + h + ", element " + j + " (" + shape + ")";
                        short normalized = toBf16(bf16(x[i]) * r);
                        short expected = toBf16Exact((double) bf16(normalized) * bf16(w[j]));
                        KernelTests.assertSameBf16(expected, y[i], where + " vs HF roundings with rstd " + r);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,8", "3,136", "17,4096", "5,5120", "7,11008", "2,14336"})
    void backwardMatchesDoubleGradientOfHfFormula(int rows, int d) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] x = KernelTests.randomBf16(random, rows * d, 3.0);
        short[] w = KernelTests.randomBf16(random, d, 2.0);
        short[] dy = KernelTests.randomBf16(random, rows * d, 1.0);
        float[] rstd = new float[rows];
        for (int r = 0; r < rows; r++) {
            double squares = 0;
            for (int j = 0; j < d; j++) {
                double v = bf16(x[r * d + j]);
                squares += v * v;
            }
            rstd[r] = (float) (1 / Math.sqrt(squares / d + EPS));
        }
        String shape = rows + "x" + d + ", seed " + seed;
        Context context = KernelTests.context();
        RmsNormKernels kernels = new RmsNormKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer gx = KernelTests.upload(context, x);
             DeviceBuffer gw = KernelTests.upload(context, w);
             DeviceBuffer gdy = KernelTests.upload(context, dy);
             DeviceBuffer grstd = KernelTests.upload(context, rstd);
             DeviceBuffer gdx = KernelTests.poisonedBf16(context, stream, (long) rows * d)) {
            kernels.backward(stream, gdx, gdy, gx, gw, grstd, rows, d);
            stream.synchronize();
            short[] dx = KernelTests.downloadBf16(gdx, rows * d);
            for (int r = 0; r < rows; r++) {
                double rr = rstd[r];
                double[] g = new double[d];
                double dot = 0;
                double dotMagnitude = 0;
                for (int j = 0; j < d; j++) {
                    g[j] = bf16(toBf16Exact((double) bf16(dy[r * d + j]) * bf16(w[j])));
                    double xj = bf16(x[r * d + j]);
                    dot += g[j] * xj;
                    dotMagnitude += Math.abs(g[j] * xj);
                }
                double coef = rr * rr * rr * dot / d;
                double coefError = rr * rr * rr / d * sumRoundings(d) * F32_EPS * dotMagnitude
                        + 6 * F32_EPS * Math.abs(coef);
                for (int j = 0; j < d; j++) {
                    double xj = bf16(x[r * d + j]);
                    double expected = rr * g[j] - xj * coef;
                    double bound = BF16_EPS * 1.01 * Math.abs(expected) + Math.abs(xj) * coefError
                            + 3 * F32_EPS * (Math.abs(rr * g[j]) + Math.abs(xj * coef)) + 1e-30;
                    KernelTests.assertWithin(expected, bf16(dx[r * d + j]), bound,
                            "dx[" + r + "][" + j + "] (" + shape + ")");
                }
            }
        }
    }

    @Test
    void refusesRowLengthsThatAreNotWholeVectors() {
        Context context = KernelTests.context();
        RmsNormKernels kernels = new RmsNormKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer any = context.allocate(4096)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> kernels.forward(stream, any, any, any, any, 2, 12, EPS));
            assertTrue(e.getMessage().contains("multiple of 8"), e.getMessage());
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> kernels.forward(stream, any, any, any, any, 1000, 8, EPS));
            assertTrue(small.getMessage().contains("needs 16000"), small.getMessage());
            IllegalArgumentException narrow = assertThrows(IllegalArgumentException.class,
                    () -> kernels.forwardHeads(stream, any, any, any, any, 2, 4, 64, 128, EPS));
            assertTrue(narrow.getMessage().contains("do not fit a row stride ld of 128"), narrow.getMessage());
        }
    }
}

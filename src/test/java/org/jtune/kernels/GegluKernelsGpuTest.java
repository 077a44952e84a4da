package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16Exact;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * geglu.ptx against GeGLU (gelu with the tanh approximation) and its gradient in double, with HF's bf16 roundings,
 * on fresh random inputs.
 */
@GpuTest
class GegluKernelsGpuTest {
    /** Gate values where tanh saturates, gelu is exactly zero, or the inner argument is tiny, placed first. */
    private static final float[] EXTREMES = {0f, -0f, 90f, -90f, 12f, -12f, -0.75f, 1e-20f, -1e-3f, 3e-3f};
    /** Below anything a product of the random inputs reaches except through saturation to zero. */
    private static final double TINY = 1e-30;
    private static final double BETA = Math.sqrt(2 / Math.PI);
    private static final double KAPPA = 0.044715;

    private static short[] gates(SplittableRandom random, int n) {
        short[] gate = KernelTests.randomBf16(random, n, 8.0);
        for (int i = 0; i < Math.min(n, EXTREMES.length); i++) {
            gate[i] = KernelTests.toBf16(EXTREMES[i]);
        }
        return gate;
    }

    private static double gelu(double g) {
        return 0.5 * g * (1 + Math.tanh(BETA * (g + KAPPA * g * g * g)));
    }

    private static double geluDerivative(double g) {
        double th = Math.tanh(BETA * (g + KAPPA * g * g * g));
        return 0.5 * (1 + th) + 0.5 * g * (1 - th * th) * BETA * (1 + 3 * KAPPA * g * g);
    }

    /**
     * The kernel's float32 tanh is exact to a few float32 ulps in absolute terms (1 - 2 / (1 + e^2u)); it enters
     * gelu as 0.5 |g| times that error.
     */
    private static double tanhError(double g) {
        return 0.5 * Math.abs(g) * Math.scalb(1.0, -21);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 13, 12_293, 1_000_003})
    void forwardMatchesGeluTimesUp(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] gate = gates(random, n);
        short[] up = KernelTests.randomBf16(random, n, 4.0);
        Context context = KernelTests.context();
        GatedActivationKernels kernels = GatedActivationKernels.geglu(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dg = KernelTests.upload(context, gate);
             DeviceBuffer du = KernelTests.upload(context, up);
             DeviceBuffer dh = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.forward(stream, dh, dg, du, n);
            stream.synchronize();
            short[] h = KernelTests.downloadBf16(dh, n);
            for (int i = 0; i < n; i++) {
                double g = bf16(gate[i]);
                double u = bf16(up[i]);
                double expected = gelu(g) * u;
                // Two bf16 roundings (activation, product), float32 arithmetic and the tanh's absolute error.
                double bound = (2 * BF16_EPS * 1.01 + 1e-6) * Math.abs(expected) + tanhError(g) * Math.abs(u)
                        * 1.01 + TINY;
                KernelTests.assertWithin(expected, bf16(h[i]), bound,
                        "h[" + i + "] of " + n + ", gate " + g + ", up " + u + ", seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 13, 12_293, 1_000_003})
    void backwardWritesGradientsInPlace(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] gate = gates(random, n);
        short[] up = KernelTests.randomBf16(random, n, 4.0);
        short[] dhOut = KernelTests.randomBf16(random, n, 1.0);
        Context context = KernelTests.context();
        GatedActivationKernels kernels = GatedActivationKernels.geglu(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dg = KernelTests.upload(context, gate);
             DeviceBuffer du = KernelTests.upload(context, up);
             DeviceBuffer dh = KernelTests.upload(context, dhOut)) {
            kernels.backward(stream, dg, du, dh, n);
            stream.synchronize();
            short[] dGate = KernelTests.downloadBf16(dg, n);
            short[] dUp = KernelTests.downloadBf16(du, n);
            for (int i = 0; i < n; i++) {
                double g = bf16(gate[i]);
                double d = bf16(dhOut[i]);
                String where = "element " + i + " of " + n + ", gate " + g + ", up " + bf16(up[i]) + ", dh " + d
                        + ", seed " + seed;
                double expectedUp = d * gelu(g);
                KernelTests.assertWithin(expectedUp, bf16(dUp[i]),
                        (2 * BF16_EPS * 1.01 + 1e-6) * Math.abs(expectedUp) + tanhError(g) * Math.abs(d) * 1.01
                                + TINY, "dUp at " + where);
                // The gradient reaching the bf16 activation is rounded to bf16 exactly as autograd does.
                double t = bf16(toBf16Exact(d * bf16(up[i])));
                double expectedGate = t * geluDerivative(g);
                // The tanh's absolute error enters 1 + th (times 0.5) and 1 - th^2 (times |g| (1 + 3k g^2) b).
                double tanhTerms = (0.5 + Math.abs(g) * BETA * (1 + 3 * KAPPA * g * g)) * Math.scalb(1.0, -20);
                double bound = (BF16_EPS * 1.01 + 1e-6) * Math.abs(expectedGate) + Math.abs(t) * tanhTerms + TINY;
                KernelTests.assertWithin(expectedGate, bf16(dGate[i]), bound, "dGate at " + where);
            }
        }
    }
}

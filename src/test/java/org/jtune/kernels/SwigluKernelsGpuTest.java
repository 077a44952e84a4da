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

/** swiglu.ptx against SwiGLU and its gradient in double, with HF's bf16 roundings, on fresh random inputs. */
@GpuTest
class SwigluKernelsGpuTest {
    /** Gate values where silu saturates, underflows or is exactly zero, placed first in every input. */
    private static final float[] EXTREMES = {0f, -0f, 90f, -90f, 20f, -20f, -1.2785f, 1e-20f};
    /** Below anything a product of the random inputs reaches except through saturation to zero. */
    private static final double TINY = 1e-30;

    private static short[] gates(SplittableRandom random, int n) {
        short[] gate = KernelTests.randomBf16(random, n, 8.0);
        for (int i = 0; i < Math.min(n, EXTREMES.length); i++) {
            gate[i] = KernelTests.toBf16(EXTREMES[i]);
        }
        return gate;
    }

    private static double sigmoid(double g) {
        return 1 / (1 + Math.exp(-g));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 8, 13, 12_293, 1_000_003})
    void forwardMatchesSiluTimesUp(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] gate = gates(random, n);
        short[] up = KernelTests.randomBf16(random, n, 4.0);
        Context context = KernelTests.context();
        GatedActivationKernels kernels = GatedActivationKernels.swiglu(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dg = KernelTests.upload(context, gate);
             DeviceBuffer du = KernelTests.upload(context, up);
             DeviceBuffer dh = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.forward(stream, dh, dg, du, n);
            stream.synchronize();
            short[] h = KernelTests.downloadBf16(dh, n);
            for (int i = 0; i < n; i++) {
                double g = bf16(gate[i]);
                double expected = g * sigmoid(g) * bf16(up[i]);
                // Two bf16 roundings (activation, product) and float32 sigmoid error.
                double bound = (2 * BF16_EPS * 1.01 + 1e-6) * Math.abs(expected) + TINY;
                KernelTests.assertWithin(expected, bf16(h[i]), bound,
                        "h[" + i + "] of " + n + ", gate " + g + ", up " + bf16(up[i]) + ", seed " + seed);
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
        GatedActivationKernels kernels = GatedActivationKernels.swiglu(context);
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
                double s = sigmoid(g);
                double d = bf16(dhOut[i]);
                String where = "element " + i + " of " + n + ", gate " + g + ", up " + bf16(up[i]) + ", dh " + d
                        + ", seed " + seed;
                double expectedUp = d * g * s;
                KernelTests.assertWithin(expectedUp, bf16(dUp[i]),
                        (2 * BF16_EPS * 1.01 + 1e-6) * Math.abs(expectedUp) + TINY, "dUp at " + where);
                // The gradient reaching the bf16 activation is rounded to bf16 exactly as autograd does.
                double t = bf16(toBf16Exact(d * bf16(up[i])));
                double expectedGate = t * s * (1 + g * (1 - s));
                // float32 sigmoid (relative ~2^-21) enters 1 - s as an absolute error, scaled by g.
                double bound = BF16_EPS * 1.01 * Math.abs(expectedGate)
                        + Math.abs(t) * (Math.abs(g) + 2) * Math.scalb(1.0, -20) + TINY;
                KernelTests.assertWithin(expectedGate, bf16(dGate[i]), bound, "dGate at " + where);
            }
        }
    }
}

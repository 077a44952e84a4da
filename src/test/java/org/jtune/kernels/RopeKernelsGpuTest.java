package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * rope.ptx against HF's rotation written out in Java (float32 angle, cos/sin from double rounded to
 * float32 then bf16, every product and sum rounded to bf16), and against the exact rotation in double.
 */
@GpuTest
class RopeKernelsGpuTest {

    /** Packed sequences of random lengths restarting at 0, or (far) random positions up to maxPosition. */
    private static int[] positions(SplittableRandom random, int tokens, int maxPosition) {
        int[] positions = new int[tokens];
        if (maxPosition > 0) {
            for (int t = 0; t < tokens; t++) {
                positions[t] = random.nextInt(maxPosition + 1);
            }
            return positions;
        }
        int next = 0;
        int remaining = 1 + random.nextInt(tokens);
        for (int t = 0; t < tokens; t++) {
            if (remaining-- == 0) {
                next = 0;
                remaining = random.nextInt(tokens);
            }
            positions[t] = next++;
        }
        return positions;
    }

    private static float[] invFreq(double theta, int headDim) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1 / Math.pow(theta, 2.0 * i / headDim));
        }
        return inv;
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,2,0,false", "5,4,2,8,0,false", "37,8,2,128,0,false", "64,32,8,128,0,true",
            "3,32,8,128,131071,false", "9,4,4,64,131071,true", "4,2,1,256,2000000,false"})
    void rotatesQAndKAsHf(int tokens, int qHeads, int kHeads, int headDim, int maxPosition, boolean backward) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] q = KernelTests.randomBf16(random, tokens * qHeads * headDim, 2.0);
        short[] k = KernelTests.randomBf16(random, tokens * kHeads * headDim, 2.0);
        int[] pos = positions(random, tokens, maxPosition);
        float[] inv = invFreq(random.nextBoolean() ? 10_000 : 500_000, headDim);
        String shape = tokens + " tokens, " + qHeads + "/" + kHeads + " heads, d " + headDim + ", "
                + (backward ? "backward" : "forward") + ", seed " + seed;
        Context context = KernelTests.context();
        RopeKernels kernels = new RopeKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dq = KernelTests.upload(context, q);
             DeviceBuffer dk = KernelTests.upload(context, k);
             DeviceBuffer dpos = KernelTests.upload(context, pos);
             DeviceBuffer dinv = KernelTests.upload(context, inv)) {
            if (backward) {
                kernels.backward(stream, dq, dk, dpos, dinv, tokens, qHeads, kHeads, headDim);
            } else {
                kernels.forward(stream, dq, dk, dpos, dinv, tokens, qHeads, kHeads, headDim);
            }
            stream.synchronize();
            check("q", q, KernelTests.downloadBf16(dq, q.length), pos, inv, qHeads, headDim, backward, shape);
            check("k", k, KernelTests.downloadBf16(dk, k.length), pos, inv, kHeads, headDim, backward, shape);
        }
    }

    private static void check(String tensor, short[] in, short[] out, int[] pos, float[] inv, int heads, int headDim,
                              boolean backward, String shape) {
        int half = headDim / 2;
        for (int t = 0; t < pos.length; t++) {
            for (int j = 0; j < half; j++) {
                // Bit-exact reference: cos/sin of the float32 angle, accurate to far below a float32
                // ulp (Math.cos here, float64 polynomials in the kernel), rounded to float32 then bf16.
                // Torch's float32 cos/sin are not correctly rounded, so HF itself can differ from this
                // by one bf16 ulp of cos/sin where the float32 value sits next to a bf16 rounding
                // boundary; the kernel does not imitate that noise, it computes the value torch
                // approximates, so the comparison with this reference stays exact. The "exact" checks
                // below bound the result against the unrounded rotation whichever neighbour is chosen.
                float angle = (float) pos[t] * inv[j];
                double exactCos = Math.cos(angle);
                double exactSin = backward ? -Math.sin(angle) : Math.sin(angle);
                float c = bf16(toBf16((float) exactCos));
                float s = bf16(toBf16((float) exactSin));
                for (int h = 0; h < heads; h++) {
                    int i1 = (t * heads + h) * headDim + j;
                    int i2 = i1 + half;
                    float x1 = bf16(in[i1]);
                    float x2 = bf16(in[i2]);
                    // Products of two bf16 are exact in float32; each rounds once to bf16, then the sum.
                    short first = toBf16(bf16(toBf16(x1 * c)) + bf16(toBf16(-x2 * s)));
                    short second = toBf16(bf16(toBf16(x2 * c)) + bf16(toBf16(x1 * s)));
                    String where = tensor + "[" + t + "][" + h + "][" + j + "] (position " + pos[t] + ", angle "
                            + angle + ", " + shape + ")";
                    KernelTests.assertSameBf16(first, out[i1], where);
                    KernelTests.assertSameBf16(second, out[i2], tensor + " partner " + where);
                    // Three bf16 roundings (cos or sin, the product, the sum), each relative to the
                    // terms it touches: each output's bound scales with that output's own two terms.
                    double firstMagnitude = Math.abs(x1 * exactCos) + Math.abs(x2 * exactSin);
                    double secondMagnitude = Math.abs(x2 * exactCos) + Math.abs(x1 * exactSin);
                    KernelTests.assertWithin(x1 * exactCos - x2 * exactSin, bf16(out[i1]),
                            3.05 * BF16_EPS * firstMagnitude + 1e-30, "exact " + where);
                    KernelTests.assertWithin(x2 * exactCos + x1 * exactSin, bf16(out[i2]),
                            3.05 * BF16_EPS * secondMagnitude + 1e-30, "exact partner " + where);
                }
            }
        }
    }
}

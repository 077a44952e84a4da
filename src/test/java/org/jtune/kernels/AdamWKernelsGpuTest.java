package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.F32_EPS;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** adamw.ptx against torch.optim.AdamW's update and clip_grad_norm_'s scale, written in double. */
@GpuTest
class AdamWKernelsGpuTest {
    private static final int[] SIZES = {1, 7, 1000, 65_536, 300_001, 16 * 4096};

    /** Host copies of one tensor's state. */
    private record State(float[] p, float[] g, float[] m, float[] v) {}

    @ParameterizedTest
    @CsvSource({"1,0.0", "1,0.5", "10,0.0", "10,1e9", "1000,2.0"})
    void updatesEveryTensorAsTorchAdamW(int stepNumber, float maxNorm) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(2e-4, 0.9, 0.999, 1e-8, 0.01);
        List<State> states = new ArrayList<>();
        for (int size : SIZES) {
            float[] v = KernelTests.randomFloats(random, size, 1e-4);
            for (int i = 0; i < size; i++) {
                v[i] = Math.abs(v[i]);
            }
            states.add(new State(KernelTests.randomFloats(random, size, 0.1), KernelTests.randomFloats(random, size, 0.02),
                    KernelTests.randomFloats(random, size, 0.01), v));
        }
        String run = "step " + stepNumber + ", max norm " + maxNorm + ", seed " + seed;
        Context context = KernelTests.context();
        AdamWKernels kernels = new AdamWKernels(context);
        List<DeviceBuffer> buffers = new ArrayList<>();
        try (Stream stream = context.createStream(); DeviceBuffer result = KernelTests.poisonedFloats(context, stream, 2)) {
            List<AdamWKernels.Tensor> tensors = new ArrayList<>();
            for (State s : states) {
                DeviceBuffer[] four = {KernelTests.upload(context, s.p), KernelTests.upload(context, s.g),
                    KernelTests.upload(context, s.m), KernelTests.upload(context, s.v)};
                buffers.addAll(List.of(four));
                tensors.add(new AdamWKernels.Tensor(four[0], four[1], four[2], four[3], s.p.length));
            }
            try (AdamWKernels.TensorTable table = AdamWKernels.table(context, tensors)) {
                kernels.gradNorm(stream, table, result, maxNorm);
                kernels.step(stream, table, AdamWKernels.clipScaleAddress(result), hyper, stepNumber);
                stream.synchronize();
            }
            float[] normAndScale = KernelTests.downloadFloats(result, 2);

            double squares = 0;
            long chunks = 0;
            for (State s : states) {
                for (float g : s.g) {
                    squares += (double) g * g;
                }
                chunks += (s.g.length + AdamWKernels.NORM_CHUNK - 1) / AdamWKernels.NORM_CHUNK;
            }
            double norm = Math.sqrt(squares);
            // The sum of squares is a tree of float32 additions of non-negative terms, so its relative
            // error is at most one unit roundoff per addition on the longest path from a term to the
            // root: a thread's running sum (32 terms per chunk it visits), the block sum (5 shuffle
            // levels, then 8 warp sums in turn), then the finalize (1 partial per thread, 5 levels, 32
            // warp sums). The square root halves that relative error and rounds once more.
            long blocks = Math.min(AdamWKernels.NORM_BLOCKS, chunks);
            double longestPath = 32 * ((chunks + blocks - 1) / blocks) + 5 + 8 + 1 + 5 + 32;
            double normError = (longestPath / 2 + 1) * F32_EPS;
            KernelTests.assertWithin(norm, normAndScale[0], normError * norm, "grad norm (" + run + ")");
            // The scale adds 1e-6 and divides: two more roundings.
            double expectedScale = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
            KernelTests.assertWithin(expectedScale, normAndScale[1], (normError + 2 * F32_EPS) * expectedScale,
                    "clip scale (" + run + ")");

            double bc1 = 1 - Math.pow(hyper.beta1(), stepNumber);
            double bc2 = 1 - Math.pow(hyper.beta2(), stepNumber);
            for (int t = 0; t < states.size(); t++) {
                State s = states.get(t);
                int n = s.p.length;
                float[] p = KernelTests.downloadFloats(buffers.get(4 * t), n);
                float[] m = KernelTests.downloadFloats(buffers.get(4 * t + 2), n);
                float[] v = KernelTests.downloadFloats(buffers.get(4 * t + 3), n);
                for (int i = 0; i < n; i++) {
                    String where = "tensor " + t + " element " + i + " of " + n + " (" + run + ")";
                    double g = (double) s.g[i] * normAndScale[1];
                    double m1 = s.m[i] + (1 - hyper.beta1()) * (g - s.m[i]);
                    double v1 = hyper.beta2() * s.v[i] + (1 - hyper.beta2()) * g * g;
                    double p1 = s.p[i] * (1 - hyper.lr() * hyper.weightDecay());
                    double denominator = Math.sqrt(v1) / Math.sqrt(bc2) + hyper.eps();
                    double update = hyper.lr() / bc1 * m1 / denominator;
                    // m1 may cancel (0.9 m + 0.1 g): its error is relative to |m| + |g|, not to m1.
                    double mError = 6 * F32_EPS * (Math.abs(s.m[i]) + Math.abs(g));
                    KernelTests.assertWithin(m1, m[i], mError + 1e-38, "m of " + where);
                    KernelTests.assertWithin(v1, v[i], 8 * F32_EPS * v1 + 1e-38, "v of " + where);
                    double updateError = 16 * F32_EPS * Math.abs(update) + hyper.lr() / bc1 * mError / denominator;
                    KernelTests.assertWithin(p1 - update, p[i], 4 * F32_EPS * Math.abs(p1) + updateError + 1e-38,
                            "param of " + where);
                }
            }
        } finally {
            buffers.forEach(DeviceBuffer::close);
        }
    }
}

package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.kernels.AdamWKernels;
import org.jtune.kernels.ElementwiseKernels;
import org.jtune.kernels.EmbeddingKernels;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.FusedCrossEntropy;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.Nf4Kernels;
import org.jtune.kernels.RmsNormKernels;
import org.jtune.kernels.RopeKernels;
import org.jtune.kernels.SwigluKernels;

/** The kernel launchers one training step uses, loaded into one context. */
record Kernels(GemmKernels gemm, RmsNormKernels rmsNorm, RopeKernels rope, SwigluKernels swiglu,
               EmbeddingKernels embedding, ElementwiseKernels elementwise, Nf4Kernels nf4, FlashAttention attention,
               AdamWKernels adamw, FusedCrossEntropy crossEntropy) {

    /**
     * Loads every kernel. The cross-entropy's GEMMs get device addresses; {@code memory} (the one allocation every
     * operand lies in) turns them back into buffers, so that the GEMM launcher checks their sizes as usual.
     */
    static Kernels load(Context context, DeviceBuffer memory) {
        GemmKernels gemm = new GemmKernels(context);
        FusedCrossEntropy.LogitsGemm logitsGemm = (stream, a, b, c, m, n, k, bTransposed) -> {
            DeviceBuffer left = within(memory, a, 2L * m * k);
            DeviceBuffer right = within(memory, b, 2L * n * k);
            DeviceBuffer out = within(memory, c, 2L * m * n);
            if (bTransposed) {
                gemm.forward(stream, out, GemmKernels.Output.BF16, false, left, right, m, n, k, 1f);
            } else {
                gemm.backwardInput(stream, out, GemmKernels.Output.BF16, false, left, right, m, k, n, 1f);
            }
        };
        return new Kernels(gemm, new RmsNormKernels(context), new RopeKernels(context), new SwigluKernels(context),
                new EmbeddingKernels(context), new ElementwiseKernels(context), new Nf4Kernels(context),
                new FlashAttention(context), new AdamWKernels(context), new FusedCrossEntropy(context, logitsGemm));
    }

    private static DeviceBuffer within(DeviceBuffer memory, long address, long bytes) {
        return memory.slice(address - memory.address(), bytes);
    }
}

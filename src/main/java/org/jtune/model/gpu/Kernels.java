package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.kernels.AdamWKernels;
import org.jtune.kernels.ElementwiseKernels;
import org.jtune.kernels.EmbeddingKernels;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.FusedCrossEntropy;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.GemmLogits;
import org.jtune.kernels.Nf4Kernels;
import org.jtune.kernels.RmsNormKernels;
import org.jtune.kernels.RopeKernels;
import org.jtune.kernels.GatedActivationKernels;

/** The kernel launchers one training step uses, loaded into one context. */
record Kernels(GemmKernels gemm, RmsNormKernels rmsNorm, RopeKernels rope, GatedActivationKernels swiglu,
               EmbeddingKernels embedding, ElementwiseKernels elementwise, Nf4Kernels nf4, FlashAttention attention,
               AdamWKernels adamw, FusedCrossEntropy crossEntropy) {

    /** Loads every kernel; the cross-entropy's LM-head products run on the tensor-core GEMM. */
    static Kernels load(Context context) {
        GemmKernels gemm = new GemmKernels(context);
        return new Kernels(gemm, new RmsNormKernels(context), new RopeKernels(context), GatedActivationKernels.swiglu(context),
                new EmbeddingKernels(context), new ElementwiseKernels(context), new Nf4Kernels(context),
                new FlashAttention(context), new AdamWKernels(context),
                new FusedCrossEntropy(context, new GemmLogits(gemm)));
    }
}

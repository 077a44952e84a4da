package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.kernels.DecodeAttention;
import org.jtune.kernels.ElementwiseKernels;
import org.jtune.kernels.EmbeddingKernels;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.MatvecKernels;
import org.jtune.kernels.Nf4Kernels;
import org.jtune.kernels.RmsNormKernels;
import org.jtune.kernels.RopeKernels;
import org.jtune.kernels.GatedActivationKernels;

/**
 * The kernel launchers a decode engine uses: the decode products and attention for decode steps, the training
 * forward's GEMMs, RoPE and flash attention for prefills, and the small kernels both share.
 */
record DecodeKernels(MatvecKernels matvec, DecodeAttention attention, RmsNormKernels rmsNorm,
                     EmbeddingKernels embedding, GemmKernels gemm, RopeKernels rope, FlashAttention flash,
                     GatedActivationKernels swiglu, ElementwiseKernels elementwise, Nf4Kernels nf4) {

    static DecodeKernels load(Context context) {
        return new DecodeKernels(new MatvecKernels(context), new DecodeAttention(context), new RmsNormKernels(context),
                new EmbeddingKernels(context), new GemmKernels(context), new RopeKernels(context),
                new FlashAttention(context), GatedActivationKernels.swiglu(context), new ElementwiseKernels(context),
                new Nf4Kernels(context));
    }
}

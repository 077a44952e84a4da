package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.ops.cuda.DecodeAttention;
import org.jtune.ops.cuda.ElementwiseKernels;
import org.jtune.ops.cuda.EmbeddingKernels;
import org.jtune.ops.cuda.FlashAttention;
import org.jtune.ops.cuda.GemmKernels;
import org.jtune.ops.cuda.MatvecKernels;
import org.jtune.ops.cuda.Nf4Kernels;
import org.jtune.ops.cuda.RmsNormKernels;
import org.jtune.ops.cuda.RopeKernels;
import org.jtune.ops.cuda.SwigluKernels;

/**
 * The kernel launchers a decode engine uses: the decode products and attention for decode steps, the training
 * forward's GEMMs, RoPE and flash attention for prefills, and the small kernels both share.
 */
record DecodeKernels(MatvecKernels matvec, DecodeAttention attention, RmsNormKernels rmsNorm,
                     EmbeddingKernels embedding, GemmKernels gemm, RopeKernels rope, FlashAttention flash,
                     SwigluKernels swiglu, ElementwiseKernels elementwise, Nf4Kernels nf4) {

    static DecodeKernels load(Context context) {
        return new DecodeKernels(new MatvecKernels(context), new DecodeAttention(context), new RmsNormKernels(context),
                new EmbeddingKernels(context), new GemmKernels(context), new RopeKernels(context),
                new FlashAttention(context), new SwigluKernels(context), new ElementwiseKernels(context),
                new Nf4Kernels(context));
    }
}

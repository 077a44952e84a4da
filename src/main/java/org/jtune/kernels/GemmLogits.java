package org.jtune.kernels;

import org.jtune.cuda.Stream;

/** The LM-head products of {@link FusedCrossEntropy} on the tensor-core GEMM of {@link GemmKernels}. */
public final class GemmLogits implements FusedCrossEntropy.LogitsGemm {
    private final GemmKernels gemm;

    public GemmLogits(GemmKernels gemm) {
        this.gemm = gemm;
    }

    /**
     * {@code c = a · bᵀ} (the logits of a chunk: hidden rows times the [vocab, dim] head) or {@code c = a · b} (the
     * chunk's dH: logit gradients times the head), bf16 results. The cross-entropy launcher has checked its buffers
     * against the row ranges it passes, so this goes straight to the GEMM's address-level entry.
     */
    @Override
    public void multiply(Stream stream, long a, long b, long c, int m, int n, int k, boolean bTransposed) {
        if (bTransposed) {
            gemm.multiplyAt(stream, GemmKernels.Layout.A_MK_B_NK, c, GemmKernels.Output.BF16, false, a, b, m, n, k,
                    k, k, n, 1f);
        } else {
            gemm.multiplyAt(stream, GemmKernels.Layout.A_MK_B_KN, c, GemmKernels.Output.BF16, false, a, b, m, n, k,
                    k, n, n, 1f);
        }
    }
}

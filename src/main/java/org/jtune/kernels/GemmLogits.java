package org.jtune.kernels;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;

/** The LM-head products of {@link FusedCrossEntropy} on the tensor-core GEMM of {@link GemmKernels}. */
public final class GemmLogits implements FusedCrossEntropy.LogitsGemm {
    private final GemmKernels gemm;

    public GemmLogits(GemmKernels gemm) {
        this.gemm = gemm;
    }

    /** The logits of a chunk: its hidden rows times the [vocab, dim] head, transposed. */
    @Override
    public void logits(Stream stream, DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer logits, int rows,
                       int vocab, int dim) {
        gemm.forward(stream, logits, GemmKernels.Store.BF16, hidden, weight, rows, vocab, dim, 1f);
    }

    /** The chunk's dH: its logit gradients times the head. */
    @Override
    public void hiddenGradient(Stream stream, DeviceBuffer dLogits, DeviceBuffer weight, DeviceBuffer dHidden,
                               int rows, int vocab, int dim) {
        gemm.backwardInput(stream, dHidden, GemmKernels.Store.BF16, dLogits, weight, rows, vocab, dim, 1f);
    }
}

package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.FusedCrossEntropy;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Every device buffer of the training step, declared in one place through a {@link MemoryCarver}: the same
 * constructor sizes them for the {@link MemoryPlan} and, given the one allocation, cuts them from it. Buffers are
 * bf16 [tokens, features] unless said; all are sized for the largest micro-batch.
 */
final class StepBuffers {
    /** Logits of one chunk of rows at most (bf16): full logits never exist. */
    static final long LOGITS_BUDGET_BYTES = 256L << 20;
    /** Bytes of {@link #results}: grad norm, clip scale, embedding error flag and id, then one 16-byte slot per loss. */
    private static final int RESULTS_HEADER = 16, LOSS_SLOT = 16;

    final DeviceWeights weights;
    final DeviceLora lora;
    /** Layer inputs (the residual stream): layers + 1 buffers, or the two device slots of offloaded checkpoints. */
    final List<DeviceBuffer> residual = new ArrayList<>();
    /** Saved state of every layer with checkpointing off; the one state recomputed layers share otherwise. */
    final List<LayerActivations> saved = new ArrayList<>();
    // scratch reused by every layer
    final DeviceBuffer normed, act, dAct, dNormed, dAttn, dQ, dK, dV, dXa, invRmsScratch, invRmsFinal, dResid;
    final DeviceBuffer dequantScratch, logits, rowLoss, sequenceLogProbs, attentionWorkspace;
    final InputLayout inputLayout;
    final DeviceBuffer inputs, results;
    final int logitsRows;

    StepBuffers(MemoryCarver carver, ModelConfig c, BaseFormat format, LoraConfig lc, StepShape shape,
                Checkpointing mode) {
        int n = shape.maxTokens();
        long d = c.hiddenSize(), inter = c.intermediateSize();
        weights = new DeviceWeights(carver, c, format);
        lora = new DeviceLora(carver, c, lc);
        int residualBuffers = mode == Checkpointing.OFFLOADED ? 2 : c.numLayers() + 1;
        for (int i = 0; i < residualBuffers; i++) {
            String name = mode == Checkpointing.OFFLOADED ? "layer input slot " + i
                    : i < c.numLayers() ? "layer " + i + " input" : "last layer output";
            residual.add(carver.take(MemoryUse.ACTIVATIONS, name, 2L * n * d));
        }
        if (mode == Checkpointing.OFFLOADED) {
            carver.pinnedHost(2L * n * d * c.numLayers());
        }
        int states = mode == Checkpointing.OFF ? c.numLayers() : 1;
        for (int l = 0; l < states; l++) {
            String name = mode == Checkpointing.OFF ? "layer " + l : "recomputed layer";
            saved.add(new LayerActivations(carver, name, c, lc, n));
        }
        MemoryUse w = MemoryUse.WORKSPACE;
        normed = carver.take(w, "normalized hidden states", 2L * n * d);
        act = carver.take(w, "SwiGLU output", 2L * n * inter);
        dAct = carver.take(w, "SwiGLU output gradient", 2L * n * inter);
        dNormed = carver.take(w, "normalized hidden states gradient", 2L * n * d);
        dAttn = carver.take(w, "attention output gradient", 2L * n * c.qWidth());
        dQ = carver.take(w, "q gradient", 2L * n * c.qWidth());
        dK = carver.take(w, "k gradient", 2L * n * c.kvWidth());
        dV = carver.take(w, "v gradient", 2L * n * c.kvWidth());
        dXa = carver.take(w, "LoRA x·Aᵀ gradient", 2L * n * lc.rank());
        invRmsScratch = carver.take(w, "recomputed norm 1/rms", 4L * n);
        invRmsFinal = carver.take(w, "final norm 1/rms", 4L * n);
        dResid = carver.take(w, "residual stream gradient", 2L * n * d);
        long scratch = weights.dequantScratchBytes();
        dequantScratch = scratch == 0 ? null : carver.take(w, "dequantized projection", scratch);
        logitsRows = FusedCrossEntropy.chunkRows(LOGITS_BUDGET_BYTES, c.vocabSize(), n);
        logits = carver.take(w, "logits chunk (" + logitsRows + " rows)",
                FusedCrossEntropy.logitsBytes(logitsRows, c.vocabSize()));
        rowLoss = carver.take(w, "row losses", 4L * n);
        // one float per batch row, for DPO; a row holds at least one token
        sequenceLogProbs = carver.take(w, "sequence log-probabilities", 4L * n);
        FlashAttention.Heads heads = new FlashAttention.Heads(c.numHeads(), c.numKvHeads(), c.headDim(),
                c.slidingWindow());
        attentionWorkspace = carver.take(w, "attention backward workspace",
                FlashAttention.backwardWorkspaceBytes(heads, n));
        inputLayout = InputLayout.of(n, c.headDim());
        inputs = carver.take(w, "batch inputs", inputLayout.bytes());
        results = carver.take(w, "step results", resultsBytes(shape.microBatches()));
    }

    static long resultsBytes(int microBatches) {
        return RESULTS_HEADER + (long) LOSS_SLOT * microBatches;
    }

    /** Grad norm at [0], clip scale at [1] (as {@code AdamWKernels.gradNorm} writes them). */
    DeviceBuffer gradNorm() {
        return results.slice(0, 8);
    }

    /** The embedding kernel's error flag and offending id. */
    DeviceBuffer embeddingErrorFlag() {
        return results.slice(8, 8);
    }

    /** Where micro-batch {@code i}'s share of the window loss goes. */
    DeviceBuffer lossSlot(int i) {
        return results.slice(RESULTS_HEADER + (long) LOSS_SLOT * i, 4);
    }

    /** Byte offset of micro-batch {@code i}'s loss in {@link #results}. */
    static long lossOffset(int i) {
        return RESULTS_HEADER + (long) LOSS_SLOT * i;
    }

    LayerActivations state(int layer) {
        return saved.get(saved.size() == 1 ? 0 : layer);
    }
}

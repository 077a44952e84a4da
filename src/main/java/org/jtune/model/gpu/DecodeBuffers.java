package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.kernels.DecodeAttention;
import org.jtune.kernels.EmbeddingKernels;
import org.jtune.kernels.MatvecKernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Every device buffer of a decode engine, declared in one place through a {@link MemoryCarver} (the same code sizes
 * the {@link MemoryPlan} and cuts the one allocation): the weights, the adapters, the key/value cache of every layer,
 * the buffers of a decode step (up to {@link MatvecKernels#MAX_BATCH} rows) and of a prefill chunk (up to
 * {@link #PREFILL_CHUNK} tokens). Activations are bf16 [rows, features] unless said.
 */
final class DecodeBuffers {
    /** Tokens a prefill runs at once; longer prompts run in chunks, attending to the cache for the earlier ones. */
    static final int PREFILL_CHUNK = 512;
    /** Query rows of one decode attention launch (a prefill chunk over a non-empty cache runs in such groups). */
    static final int ATTENTION_ROWS = 64;

    final DeviceWeights weights;
    /** Null for a base model. */
    final DecodeLora lora;
    final List<DeviceBuffer> keys = new ArrayList<>(), values = new ArrayList<>();
    /** The decode attention layout of each layer: their windows may differ (Qwen2), all else is shared. */
    final List<DecodeAttention.Layout> attention = new ArrayList<>();
    /** Sized for the layout that needs most (the widest window); every layer's launches share it. */
    final DecodeAttention.Workspace attentionWorkspace;
    final int prefillChunk, inputRows;
    // decode step
    final DeviceBuffer x, normed, qkv, attn, act, xa, invRms, logits;
    /** 1/rms of the per-head q/k norms (not needed after the norm; decode step and prefill); null without them. */
    final DeviceBuffer headInvRms;
    // prefill chunk
    final DeviceBuffer prefillX, prefillNormed, prefillQ, prefillAttn, prefillOut, prefillGate, prefillUp, prefillLse;
    final DeviceBuffer prefillXa, prefillInvRms, dequantScratch;
    final DeviceBuffer inputs, embeddingErrorFlag;

    DecodeBuffers(MemoryCarver carver, ModelConfig c, BaseFormat format, LoraConfig lc, int maxSequences,
                  int capacity) {
        long d = c.hiddenSize(), inter = c.intermediateSize(), q = c.qWidth(), kv = c.kvWidth();
        weights = new DeviceWeights(carver, c, format);
        lora = lc == null ? null : new DecodeLora(carver, c, lc);
        long partialSums = 0, partialMaxSums = 0, counters = 0;
        for (int l = 0; l < c.numLayers(); l++) {
            DecodeAttention.Layout layout = new DecodeAttention.Layout(c.numHeads(), c.numKvHeads(), c.headDim(),
                    c.windowOf(l), maxSequences, capacity, ATTENTION_ROWS, c.attentionScale());
            attention.add(layout);
            partialSums = Math.max(partialSums, layout.partialSumBytes());
            partialMaxSums = Math.max(partialMaxSums, layout.partialMaxSumBytes());
            counters = Math.max(counters, layout.counterBytes());
            keys.add(carver.take(MemoryUse.CACHE, "layer " + l + " keys", layout.cacheBytes()));
            values.add(carver.take(MemoryUse.CACHE, "layer " + l + " values", layout.cacheBytes()));
        }
        MemoryUse w = MemoryUse.WORKSPACE;
        attentionWorkspace = new DecodeAttention.Workspace(
                carver.take(w, "attention partial sums", partialSums),
                carver.take(w, "attention partial max and sum", partialMaxSums),
                carver.take(w, "attention run counters", counters));
        int rows = MatvecKernels.MAX_BATCH;
        int rank = lc == null ? 0 : lc.rank();
        x = carver.take(w, "decode hidden states", 2L * rows * d);
        normed = carver.take(w, "decode normalized hidden states", 2L * rows * d);
        qkv = carver.take(w, "decode q, k, v", 2L * rows * (q + 2 * kv));
        attn = carver.take(w, "decode attention output", 2L * rows * q);
        act = carver.take(w, "decode SwiGLU output", 2L * rows * inter);
        xa = lc == null ? null : carver.take(w, "decode LoRA x·Aᵀ (fp32)", 4L * rows * 3 * rank);
        invRms = carver.take(w, "decode norm 1/rms", 4L * rows);
        logits = carver.take(w, "decode logits (fp32)", 4L * rows * c.vocabSize());

        prefillChunk = Math.min(capacity, PREFILL_CHUNK);
        long n = prefillChunk;
        prefillX = carver.take(w, "prefill hidden states", 2 * n * d);
        prefillNormed = carver.take(w, "prefill normalized hidden states", 2 * n * d);
        prefillQ = carver.take(w, "prefill q", 2 * n * q);
        prefillAttn = carver.take(w, "prefill attention output", 2 * n * q);
        prefillOut = carver.take(w, "prefill projection output", 2 * n * d);
        prefillGate = carver.take(w, "prefill gate and SwiGLU output", 2 * n * inter);
        prefillUp = carver.take(w, "prefill up", 2 * n * inter);
        prefillLse = carver.take(w, "prefill attention log-sum-exp", 4 * n * c.numHeads());
        prefillXa = lc == null ? null : carver.take(w, "prefill LoRA x·Aᵀ", 2 * n * rank);
        prefillInvRms = carver.take(w, "prefill norm 1/rms", 4 * n);
        headInvRms = c.design().qkNorm() ? carver.take(w, "q/k norm 1/rms",
                4L * Math.max(n, rows) * c.numHeads()) : null;
        long scratch = weights.dequantScratchBytes();
        dequantScratch = scratch == 0 ? null : carver.take(w, "dequantized projection", scratch);

        inputRows = Math.max(prefillChunk, Math.max(ATTENTION_ROWS, rows));
        inputs = carver.take(w, "step inputs", DecodeInputs.bytes(inputRows, c.headDim()));
        embeddingErrorFlag = carver.take(w, "embedding error flag", EmbeddingKernels.ERROR_FLAG_BYTES);
    }
}

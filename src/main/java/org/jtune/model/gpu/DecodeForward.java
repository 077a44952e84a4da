package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.MatvecKernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Queues the kernels of a decode engine's two passes on a stream, reading the step's inputs from
 * {@link DecodeInputs} on the device: a decode step (one token for each of up to 16 sequences, weights read once by
 * the decode products, attention over the cache with RoPE and the append fused) and a prefill chunk (many tokens of
 * one sequence through the training forward's GEMMs, RoPE and flash attention, keys and values written straight into
 * the cache). Both end with float32 logits in {@link DecodeBuffers#logits}. It waits for nothing, so that a decode
 * step can be captured into a CUDA graph.
 */
final class DecodeForward {
    /** The launches of one layer's products in a decode step: segments and adapter inputs, fixed once uploaded. */
    private record LayerProducts(List<MatvecKernels.Segment> qkv, DeviceBuffer[] qkvA,
                                 List<MatvecKernels.Segment> o, DeviceBuffer[] oA,
                                 List<MatvecKernels.Segment> gateUp, DeviceBuffer[] gateUpA,
                                 List<MatvecKernels.Segment> down, DeviceBuffer[] downA) {}

    private final ModelConfig c;
    private final DecodeBuffers buffers;
    private final DecodeKernels kernels;
    private final DecodeInputs inputs;
    private final float eps;
    /** The flash attention heads of each layer's prefill (the windows may differ between layers). */
    private final FlashAttention.Heads[] heads;
    private final List<LayerProducts> layers = new ArrayList<>();
    private final List<MatvecKernels.Segment> head;
    private final DeviceBuffer kNew, vNew;

    /** The weights (and adapters) must be uploaded: NF4 segments carry their quantization offsets. */
    DecodeForward(ModelConfig c, DecodeBuffers buffers, DecodeKernels kernels, DecodeInputs inputs) {
        this.c = c;
        this.buffers = buffers;
        this.kernels = kernels;
        this.inputs = inputs;
        this.eps = (float) c.rmsNormEps();
        this.heads = new FlashAttention.Heads[c.numLayers()];
        for (int l = 0; l < heads.length; l++) {
            heads[l] = new FlashAttention.Heads(c.numHeads(), c.numKvHeads(), c.headDim(), c.windowOf(l),
                    c.attentionScale());
        }
        long q = c.qWidth(), kv = c.kvWidth();
        DeviceBuffer qkv = buffers.qkv;
        kNew = qkv.slice(2 * q, qkv.bytes() - 2 * q);
        vNew = qkv.slice(2 * (q + kv), qkv.bytes() - 2 * (q + kv));
        for (int l = 0; l < c.numLayers(); l++) {
            layers.add(new LayerProducts(
                    List.of(segment(l, LoraTarget.Q, qkv), segment(l, LoraTarget.K, kNew),
                            segment(l, LoraTarget.V, vNew)),
                    down(l, LoraTarget.Q, LoraTarget.K, LoraTarget.V),
                    List.of(segment(l, LoraTarget.O, buffers.x)), down(l, LoraTarget.O),
                    List.of(segment(l, LoraTarget.GATE, buffers.act), segment(l, LoraTarget.UP, null)),
                    down(l, LoraTarget.GATE, LoraTarget.UP),
                    List.of(segment(l, LoraTarget.DOWN, buffers.x)), down(l, LoraTarget.DOWN)));
        }
        head = List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(buffers.weights.lmHead, c.vocabSize()),
                buffers.logits, null));
    }

    private MatvecKernels.Segment segment(int layer, LoraTarget t, DeviceBuffer y) {
        DecodeLora.Adapter ad = buffers.lora == null ? null : buffers.lora.adapter(layer, t);
        return new MatvecKernels.Segment(buffers.weights.layers.get(layer).projection(t).matvecWeight(), y,
                ad == null ? null : ad.b());
    }

    /** The float32 A matrices of a launch's segments (null where not adapted); null if none is. */
    private DeviceBuffer[] down(int layer, LoraTarget... targets) {
        if (buffers.lora == null) {
            return null;
        }
        DeviceBuffer[] a = new DeviceBuffer[targets.length];
        boolean any = false;
        for (int i = 0; i < targets.length; i++) {
            DecodeLora.Adapter ad = buffers.lora.adapter(layer, targets[i]);
            a[i] = ad == null ? null : ad.a();
            any |= ad != null;
        }
        return any ? a : null;
    }

    /**
     * One token for each of {@code rows} sequences (ids, slots and positions in the inputs): embedding, every layer
     * (norm, fused q/k/v, attention over the cache appending the new key and value, o with the residual add, norm,
     * gate/up with SwiGLU, down with the residual add), final norm and LM head into logits rows 0 .. rows-1.
     */
    void decodeStep(Stream s, int rows, boolean adapters) {
        int d = c.hiddenSize(), qw = c.qWidth(), inter = c.intermediateSize();
        int qkvWidth = qw + 2 * c.kvWidth();
        DeviceBuffer x = buffers.x, normed = buffers.normed;
        kernels.embedding().gather(s, x, buffers.weights.embedTokens, inputs.tokenIds, buffers.embeddingErrorFlag,
                rows, c.vocabSize(), d);
        for (int l = 0; l < c.numLayers(); l++) {
            DeviceWeights.Layer w = buffers.weights.layers.get(l);
            LayerProducts p = layers.get(l);
            kernels.rmsNorm().forward(s, normed, buffers.invRms, x, w.inputNorm(), rows, d, eps);
            product(s, MatvecKernels.Mode.STORE, normed, d, rows, p.qkv, p.qkvA, qkvWidth, adapters);
            if (w.qkvBias() != null) {
                kernels.elementwise().biasAdd(s, buffers.qkv, w.qkvBias(), rows, qkvWidth);
            }
            if (w.qNorm() != null) {
                // the q and k parts of the fused rows, before the attention kernel rotates them
                kernels.rmsNorm().forwardHeads(s, buffers.qkv, buffers.headInvRms, buffers.qkv, w.qNorm(), rows,
                        c.numHeads(), c.headDim(), qkvWidth, eps);
                kernels.rmsNorm().forwardHeads(s, kNew, buffers.headInvRms, kNew, w.kNorm(), rows, c.numKvHeads(),
                        c.headDim(), qkvWidth, eps);
            }
            kernels.attention().attend(s, buffers.attention.get(l), buffers.attentionWorkspace, buffers.qkv, qkvWidth,
                    true,
                    kNew, vNew, qkvWidth, inputs.slots, inputs.positions, buffers.keys.get(l), buffers.values.get(l),
                    inputs.invFreq, buffers.attn, qw, rows);
            product(s, MatvecKernels.Mode.RESIDUAL_ADD, buffers.attn, qw, rows, p.o, p.oA, d, adapters);
            kernels.rmsNorm().forward(s, normed, buffers.invRms, x, w.mlpNorm(), rows, d, eps);
            product(s, MatvecKernels.Mode.SWIGLU, normed, d, rows, p.gateUp, p.gateUpA, inter, adapters);
            product(s, MatvecKernels.Mode.RESIDUAL_ADD, buffers.act, inter, rows, p.down, p.downA, d, adapters);
        }
        kernels.rmsNorm().forward(s, normed, buffers.invRms, x, buffers.weights.norm, rows, d, eps);
        kernels.matvec().multiply(s, MatvecKernels.Mode.FLOAT_OUTPUT, normed, d, rows, d, head, c.vocabSize(), null);
    }

    /** The adapters' down products (when on and any segment is adapted), then the launch's products. */
    private void product(Stream s, MatvecKernels.Mode mode, DeviceBuffer x, int k, int rows,
                         List<MatvecKernels.Segment> segments, DeviceBuffer[] a, int ldy, boolean adapters) {
        MatvecKernels.Lora lora = null;
        if (adapters && a != null) {
            int rank = buffers.lora.config.rank();
            kernels.matvec().loraDown(s, x, k, rows, k, a, rank, buffers.xa, 3 * rank);
            lora = new MatvecKernels.Lora(buffers.xa, 3 * rank, rank, buffers.lora.config.scaling());
        }
        kernels.matvec().multiply(s, mode, x, k, rows, k, segments, ldy, lora);
    }

    /**
     * {@code count} tokens of the sequence in {@code slot}, at positions {@code first ..} (ids and positions in the
     * inputs, document offsets {0, count}): every layer over all of them at once, k and v written into the slot's
     * cache; with an empty cache before them ({@code first} 0) attention is flash attention over the chunk, else
     * decode attention over the cache in groups of rows. With {@code logits}, the last token's logits go to logits
     * row 0.
     */
    void prefillChunk(Stream s, int slot, int first, int count, boolean adapters, boolean logits) {
        int d = c.hiddenSize(), inter = c.intermediateSize(), qw = c.qWidth(), kvw = c.kvWidth();
        DeviceBuffer x = buffers.prefillX, normed = buffers.prefillNormed;
        kernels.embedding().gather(s, x, buffers.weights.embedTokens, inputs.tokenIds, buffers.embeddingErrorFlag,
                count, c.vocabSize(), d);
        long cacheOffset = 2L * ((long) slot * buffers.attention.get(0).capacity() + first) * kvw;
        long cacheBytes = 2L * count * kvw;
        for (int l = 0; l < c.numLayers(); l++) {
            DeviceWeights.Layer w = buffers.weights.layers.get(l);
            DeviceBuffer keys = buffers.keys.get(l).slice(cacheOffset, cacheBytes);
            DeviceBuffer values = buffers.values.get(l).slice(cacheOffset, cacheBytes);
            kernels.rmsNorm().forward(s, normed, buffers.prefillInvRms, x, w.inputNorm(), count, d, eps);
            project(s, l, LoraTarget.Q, normed, buffers.prefillQ, count, adapters);
            project(s, l, LoraTarget.K, normed, keys, count, adapters);
            project(s, l, LoraTarget.V, normed, values, count, adapters);
            if (w.qNorm() != null) {
                kernels.rmsNorm().forwardHeads(s, buffers.prefillQ, buffers.headInvRms, buffers.prefillQ, w.qNorm(),
                        count, c.numHeads(), c.headDim(), qw, eps);
                kernels.rmsNorm().forwardHeads(s, keys, buffers.headInvRms, keys, w.kNorm(), count, c.numKvHeads(),
                        c.headDim(), kvw, eps);
            }
            kernels.rope().forward(s, buffers.prefillQ, keys, inputs.positions, inputs.invFreq, count, c.numHeads(),
                    c.numKvHeads(), c.headDim());
            if (first == 0) {
                kernels.flash().forward(s, heads[l], new FlashAttention.Documents(new int[] {0, count}),
                        inputs.documentOffsets, buffers.prefillQ, keys, values, buffers.prefillAttn,
                        buffers.prefillLse);
            } else {
                for (int r = 0; r < count; r += DecodeBuffers.ATTENTION_ROWS) {
                    int rows = Math.min(DecodeBuffers.ATTENTION_ROWS, count - r);
                    long qOffset = 2L * r * qw;
                    kernels.attention().attend(s, buffers.attention.get(l), buffers.attentionWorkspace,
                            buffers.prefillQ.slice(qOffset, 2L * rows * qw), qw, false, null, null, 0,
                            inputs.slots.slice(4L * r, 4L * rows), inputs.positions.slice(4L * r, 4L * rows),
                            buffers.keys.get(l), buffers.values.get(l), inputs.invFreq,
                            buffers.prefillAttn.slice(qOffset, 2L * rows * qw), qw, rows);
                }
            }
            project(s, l, LoraTarget.O, buffers.prefillAttn, buffers.prefillOut, count, adapters);
            kernels.elementwise().residualAdd(s, x, buffers.prefillOut, (long) count * d);
            kernels.rmsNorm().forward(s, normed, buffers.prefillInvRms, x, w.mlpNorm(), count, d, eps);
            project(s, l, LoraTarget.GATE, normed, buffers.prefillGate, count, adapters);
            project(s, l, LoraTarget.UP, normed, buffers.prefillUp, count, adapters);
            kernels.swiglu().forward(s, buffers.prefillGate, buffers.prefillGate, buffers.prefillUp,
                    (long) count * inter);
            project(s, l, LoraTarget.DOWN, buffers.prefillGate, buffers.prefillOut, count, adapters);
            kernels.elementwise().residualAdd(s, x, buffers.prefillOut, (long) count * d);
        }
        if (logits) {
            DeviceBuffer last = x.slice(2L * (count - 1) * d, 2L * d);
            kernels.rmsNorm().forward(s, buffers.normed, buffers.invRms, last, buffers.weights.norm, 1, d, eps);
            kernels.matvec().multiply(s, MatvecKernels.Mode.FLOAT_OUTPUT, buffers.normed, d, 1, d, head,
                    c.vocabSize(), null);
        }
    }

    /**
     * y = x·Wᵀ (NF4 dequantized into the scratch first) plus the projection's bias where the family has one, plus
     * s·(x·Aᵀ)·Bᵀ if adapted and adapters are on.
     */
    private void project(Stream s, int layer, LoraTarget t, DeviceBuffer x, DeviceBuffer y, int tokens,
                         boolean adapters) {
        int out = t.outFeatures(c), in = t.inFeatures(c);
        GemmKernels gemm = kernels.gemm();
        DeviceWeights.Layer weights = buffers.weights.layers.get(layer);
        DeviceBuffer w = weights.projection(t).dense(s, kernels.nf4(), buffers.dequantScratch);
        gemm.forward(s, y, GemmKernels.Store.BF16, x, w, tokens, out, in, 1f);
        DeviceBuffer bias = weights.bias(t);
        if (bias != null) {
            kernels.elementwise().biasAdd(s, y, bias, tokens, out);
        }
        DecodeLora.Adapter ad = adapters && buffers.lora != null ? buffers.lora.adapter(layer, t) : null;
        if (ad != null) {
            int rank = buffers.lora.config.rank();
            gemm.forward(s, buffers.prefillXa, GemmKernels.Store.BF16, x, ad.aBf16(), tokens, rank, in, 1f);
            gemm.forward(s, y, GemmKernels.Store.BF16_ADD, buffers.prefillXa, ad.bBf16(), tokens, out, rank,
                    buffers.lora.config.scaling());
        }
    }
}

package org.jtune.model.cpu;

import org.jtune.model.DecodeEngine;
import org.jtune.model.DecodeSlots;
import org.jtune.model.LayerDesign;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeFrequencies;
import org.jtune.model.RopeScaling;
import org.jtune.tensor.Tensor;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The decode engine on the CPU: the math of the training model's forward ({@code CpuCausalLm} with
 * {@code CpuOps}, the same RMSNorm, RoPE and activation operations in the same order, for every family) for a few new tokens at a time
 * over a float32 key/value cache taken once. Matrix products read each weight row once, where it is stored
 * (F32, BF16, F16, or NF4 dequantized block by block), spread over all cores and, where the runtime has it, on
 * the Vector API. LoRA is applied on the fly ({@code y += s·(x·Aᵀ)·Bᵀ}) and can be switched off; a merged model
 * is a base model without adapters.
 *
 * <p>A prompt is prefilled in chunks of {@link #PREFILL_CHUNK} tokens, so that buffers stay small whatever its
 * length. Not thread-safe: one caller drives it (the scheduler of the generation layer).
 */
public final class CpuDecodeEngine implements DecodeEngine {
    /** Most tokens of one prompt that go through the layers together. */
    public static final int PREFILL_CHUNK = 128;

    private final ModelConfig config;
    private final int maxSequences, capacity, maxRows, d, vocab;
    private final float eps, scaling;
    private final RowProducts products;
    private final DecodeAttention attention;
    private final KvCache cache;
    private final WeightRows embedding, lmHead;
    private final float[] finalNorm;
    private final float embeddingScale;
    private final List<Layer> layers = new ArrayList<>();
    private final RopeTable globalRope, localRope;
    private final DecodeSlots slots;
    private boolean adaptersEnabled = true;

    // activations for up to maxRows tokens, taken once
    private final float[] x, normed, q, k, v, attn, proj, gate, up, xa, finalHidden;
    private final int[] rowSlots, rowPositions, rowTokens;

    /** One projection: the frozen weight, its bias, and its LoRA matrices (null where not adapted). */
    private record Projection(WeightRows weight, float[] bias, WeightRows loraA, WeightRows loraB) {}

    /** One layer's projections, and its norm weights as multiplied by (see {@link NormWeights}; null if absent). */
    private record Layer(float[] inputNorm, float[] qNorm, float[] kNorm, float[] attentionOutputNorm,
                         float[] mlpNorm, float[] mlpOutputNorm, Map<LoraTarget, Projection> projections) {}

    /** cos and sin of {@code position · invFreq[i]} for every position of a slot. */
    private record RopeTable(float[] cos, float[] sin) {
        static RopeTable of(RopeFrequencies frequencies, int capacity) {
            // Positions stay below max_position_embeddings, where dynamic scaling keeps the original frequencies.
            float[] invFreq = frequencies.forMaxPosition(capacity - 1);
            int half = invFreq.length;
            float[] cos = new float[capacity * half], sin = new float[capacity * half];
            for (int p = 0; p < capacity; p++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) p * invFreq[i];
                    cos[p * half + i] = (float) Math.cos(angle);
                    sin[p * half + i] = (float) Math.sin(angle);
                }
            }
            return new RopeTable(cos, sin);
        }
    }

    /**
     * @param lora         the adapters, applied on the fly (read on every step, so they may change between calls);
     *                     null for the base model alone (or a merged one)
     * @param maxSequences slots, the most sequences decoded together
     * @param capacity     most tokens per slot, at most the model's max_position_embeddings
     */
    public CpuDecodeEngine(ModelConfig config, ModelWeights weights, LoraAdapters lora, int maxSequences,
                           int capacity) {
        this(config, weights, lora, maxSequences, capacity, RowMath.best());
    }

    CpuDecodeEngine(ModelConfig config, ModelWeights weights, LoraAdapters lora, int maxSequences, int capacity,
                    RowMath math) {
        if (maxSequences <= 0) {
            throw new IllegalArgumentException("a decode engine needs at least one sequence slot, got " + maxSequences);
        }
        if (capacity <= 1 || capacity > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("context of " + capacity + " tokens per sequence: must be 2 to the"
                    + " model's max_position_embeddings " + config.maxPositionEmbeddings());
        }
        this.config = config;
        this.maxSequences = maxSequences;
        this.capacity = capacity;
        this.maxRows = Math.max(maxSequences, Math.min(PREFILL_CHUNK, capacity));
        this.d = config.hiddenSize();
        this.vocab = config.vocabSize();
        this.eps = (float) config.rmsNormEps();
        this.scaling = lora == null ? 0f : lora.config().scaling();
        this.products = new RowProducts(math);
        this.attention = new DecodeAttention(config, capacity, math);
        this.embedding = WeightRows.of(weights.embedTokens(), math);
        this.lmHead = WeightRows.of(weights.lmHead(), math);
        boolean unitOffset = config.design().unitOffsetNorms();
        this.finalNorm = NormWeights.values(weights.norm(), unitOffset);
        this.embeddingScale = CpuCausalLm.embeddingScale(config, weights.embedTokens().dtype());
        for (int l = 0; l < config.numLayers(); l++) {
            ModelWeights.Layer w = weights.layers().get(l);
            Map<LoraTarget, Projection> projections = new EnumMap<>(LoraTarget.class);
            for (LoraTarget t : LoraTarget.values()) {
                LoraAdapters.Adapter ad = lora == null ? null : lora.adapter(l, t);
                projections.put(t, new Projection(WeightRows.of(w.projection(t), math), floats(w.bias(t)),
                        ad == null ? null : WeightRows.of(ad.a(), math),
                        ad == null ? null : WeightRows.of(ad.b(), math)));
            }
            layers.add(new Layer(NormWeights.values(w.inputNorm(), unitOffset),
                    NormWeights.values(w.qNorm(), unitOffset), NormWeights.values(w.kNorm(), unitOffset),
                    NormWeights.values(w.attentionOutputNorm(), unitOffset),
                    NormWeights.values(w.mlpNorm(), unitOffset), NormWeights.values(w.mlpOutputNorm(), unitOffset),
                    projections));
        }
        globalRope = RopeTable.of(new RopeFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling(),
                config.maxPositionEmbeddings()), capacity);
        double localTheta = config.design().localRopeTheta();
        localRope = localTheta > 0 ? RopeTable.of(new RopeFrequencies(config.headDim(), localTheta, RopeScaling.NONE,
                config.maxPositionEmbeddings()), capacity) : null;
        slots = new DecodeSlots(maxSequences, capacity, vocab);
        int rank = lora == null ? 1 : lora.config().rank();
        x = new float[maxRows * d];
        normed = new float[maxRows * d];
        q = new float[maxRows * config.qWidth()];
        k = new float[maxRows * config.kvWidth()];
        v = new float[maxRows * config.kvWidth()];
        attn = new float[maxRows * config.qWidth()];
        proj = new float[maxRows * d];
        gate = new float[maxRows * config.intermediateSize()];
        up = new float[maxRows * config.intermediateSize()];
        xa = new float[maxRows * rank];
        finalHidden = new float[maxSequences * d];
        rowSlots = new int[maxRows];
        rowPositions = new int[maxRows];
        rowTokens = new int[maxRows];
        cache = new KvCache(config.numLayers(), maxSequences, capacity, config.kvWidth());
    }

    private static float[] floats(Tensor t) {
        return t == null ? null : t.toFloatArray();
    }

    /** Bytes the key/value cache of this many sequences and tokens takes. */
    public static long cacheBytes(ModelConfig config, int maxSequences, int capacity) {
        return KvCache.bytes(config.numLayers(), maxSequences, capacity, config.kvWidth());
    }

    /** E.g. "CPU, 16 cores, Vector API 512-bit, key/value cache 64 MiB float32". */
    public String describe() {
        long bytes = cacheBytes(config, maxSequences, capacity);
        return String.format(Locale.ROOT, "CPU, %d cores, %s, key/value cache %s float32",
                Runtime.getRuntime().availableProcessors(), products.math().describe(),
                bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB");
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int maxSequences() {
        return maxSequences;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int length(int slot) {
        return slots.length(slot);
    }

    @Override
    public void reset(int slot) {
        slots.reset(slot);
    }

    @Override
    public void setAdaptersEnabled(boolean enabled) {
        adaptersEnabled = enabled;
    }

    @Override
    public void prefill(int slot, int[] tokens, float[] logits) {
        slots.checkPrefill(slot, tokens, logits);
        for (int start = 0; start < tokens.length; start += PREFILL_CHUNK) {
            int count = Math.min(PREFILL_CHUNK, tokens.length - start);
            int first = slots.length(slot);
            for (int i = 0; i < count; i++) {
                rowSlots[i] = slot;
                rowPositions[i] = first + i;
                rowTokens[i] = tokens[start + i];
            }
            boolean last = start + count == tokens.length;
            forward(count, last ? new int[] {count - 1} : new int[0], logits);
            slots.advance(slot, count);
        }
    }

    @Override
    public void decode(int[] slotsOfStep, int[] tokens, float[] logits) {
        int[] positions = slots.checkDecode(slotsOfStep, tokens, logits);
        int n = slotsOfStep.length;
        if (n == 0) {
            return;
        }
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            rowSlots[i] = slotsOfStep[i];
            rowPositions[i] = positions[i];
            rowTokens[i] = tokens[i];
            all[i] = i;
        }
        forward(n, all, logits);
        slots.advance(slotsOfStep);
    }

    /**
     * Runs the first {@code n} rows of rowSlots/rowPositions/rowTokens through the model, appending their keys and
     * values to the cache, and writes the logits of the rows {@code logitRows} to {@code logits}, in that order.
     */
    private void forward(int n, int[] logitRows, float[] logits) {
        for (int r = 0; r < n; r++) {
            embedding.read(rowTokens[r], x, r * d);
        }
        if (embeddingScale != 1f) {
            for (int i = 0; i < n * d; i++) {
                x[i] *= embeddingScale;
            }
        }
        for (int l = 0; l < layers.size(); l++) {
            layer(l, n);
        }
        if (logitRows.length == 0) {
            return;
        }
        for (int i = 0; i < logitRows.length; i++) {
            rmsNorm(x, logitRows[i] * d, finalNorm, d, finalHidden, i * d);
        }
        products.multiply(lmHead, finalHidden, logitRows.length, logits, 1f, false);
    }

    private void layer(int l, int n) {
        Layer w = layers.get(l);
        int qw = config.qWidth(), kvw = config.kvWidth(), inter = config.intermediateSize(), hd = config.headDim();
        for (int r = 0; r < n; r++) {
            rmsNorm(x, r * d, w.inputNorm(), d, normed, r * d);
        }
        project(w, LoraTarget.Q, normed, n, q);
        project(w, LoraTarget.K, normed, n, k);
        project(w, LoraTarget.V, normed, n, v);
        if (w.qNorm() != null) { // each head normed on its own, before RoPE (Qwen3, Gemma 3)
            for (int i = 0; i < n * config.numHeads(); i++) {
                rmsNorm(q, i * hd, w.qNorm(), hd, q, i * hd);
            }
            for (int i = 0; i < n * config.numKvHeads(); i++) {
                rmsNorm(k, i * hd, w.kNorm(), hd, k, i * hd);
            }
        }
        RopeTable rope = config.localRope(l) ? localRope : globalRope;
        for (int r = 0; r < n; r++) {
            rope(rope, q, r * qw, config.numHeads(), rowPositions[r]);
            rope(rope, k, r * kvw, config.numKvHeads(), rowPositions[r]);
            cache.store(l, rowSlots[r], rowPositions[r], k, v, r * kvw);
        }
        attention.attend(cache, l, q, n, rowSlots, rowPositions, attn);
        project(w, LoraTarget.O, attn, n, proj);
        addResidual(proj, w.attentionOutputNorm(), n);

        for (int r = 0; r < n; r++) {
            rmsNorm(x, r * d, w.mlpNorm(), d, normed, r * d);
        }
        project(w, LoraTarget.GATE, normed, n, gate);
        project(w, LoraTarget.UP, normed, n, up);
        boolean gelu = config.design().activation() == LayerDesign.Activation.GELU_TANH;
        for (int i = 0; i < n * inter; i++) {
            double g = gate[i];
            float act = (float) (gelu ? 0.5 * g * (1 + Math.tanh(GELU_C * (g + GELU_CUBIC * g * g * g)))
                    : g / (1.0 + Math.exp(-g)));
            gate[i] = act * up[i];
        }
        project(w, LoraTarget.DOWN, gate, n, proj);
        addResidual(proj, w.mlpOutputNorm(), n);
    }

    /** sqrt(2/pi) and the cubic coefficient of the tanh-approximated GELU, as {@code CpuOps.geglu}. */
    private static final double GELU_C = Math.sqrt(2 / Math.PI), GELU_CUBIC = 0.044715;

    /** x += out, with out normed first where the family norms its sublayers' outputs (Gemma 3). */
    private void addResidual(float[] out, float[] outputNorm, int n) {
        if (outputNorm != null) {
            for (int r = 0; r < n; r++) {
                rmsNorm(out, r * d, outputNorm, d, out, r * d);
            }
        }
        add(x, out, n * d);
    }

    /** {@code y = in·Wᵀ + bias}, plus the LoRA branch when the adapters are on. */
    private void project(Layer layer, LoraTarget t, float[] in, int n, float[] y) {
        Projection p = layer.projections().get(t);
        products.multiply(p.weight(), in, n, y, 1f, false);
        if (p.bias() != null) {
            int out = p.bias().length;
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < out; j++) {
                    y[r * out + j] += p.bias()[j];
                }
            }
        }
        if (adaptersEnabled && p.loraA() != null) {
            products.multiply(p.loraA(), in, n, xa, 1f, false);
            products.multiply(p.loraB(), xa, n, y, scaling, true);
        }
    }

    /**
     * As {@code CpuOps.rmsNorm} over {@code width} values: the sum of squares in double, the scale rounded to float
     * once. {@code out} may be {@code in}.
     */
    private void rmsNorm(float[] in, int inAt, float[] weight, int width, float[] out, int outAt) {
        double sumSquares = 0;
        for (int j = 0; j < width; j++) {
            float e = in[inAt + j];
            sumSquares += (double) e * e;
        }
        float r = (float) (1.0 / Math.sqrt(sumSquares / width + eps));
        for (int j = 0; j < width; j++) {
            out[outAt + j] = weight[j] * (in[inAt + j] * r);
        }
    }

    /** As {@code CpuOps.rope}: rotate_half pairs (i, i + d/2) of each head by {@code position · invFreq[i]}. */
    private void rope(RopeTable rope, float[] t, int at, int heads, int position) {
        int half = config.headDim() / 2;
        int table = position * half;
        float[] cos = rope.cos(), sin = rope.sin();
        for (int h = 0; h < heads; h++) {
            int base = at + h * 2 * half;
            for (int i = 0; i < half; i++) {
                float x1 = t[base + i], x2 = t[base + half + i];
                float c = cos[table + i], s = sin[table + i];
                t[base + i] = x1 * c - x2 * s;
                t[base + half + i] = x2 * c + x1 * s;
            }
        }
    }

    private static void add(float[] acc, float[] delta, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += delta[i];
        }
    }

    /** Frees the cache (the weights and adapters belong to the caller). */
    @Override
    public void close() {
        cache.close();
    }
}

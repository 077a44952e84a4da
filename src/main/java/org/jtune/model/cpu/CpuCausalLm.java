package org.jtune.model.cpu;

import org.jtune.model.AttentionShape;
import org.jtune.model.Batch;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.model.LayerDesign;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeFrequencies;
import org.jtune.model.RopeScaling;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A causal LM (Llama, Mistral, Qwen2, Qwen3, Gemma 3: see {@link LayerDesign}) with a frozen base and LoRA adapters: forward to the loss, and a hand-written backward
 * that produces the LoRA gradients only. All activation buffers are allocated once, for the largest batch, when the
 * model is built, with one buffer into which NF4 projections are dequantized on every use. With gradient
 * checkpointing only each layer's input is kept; backward recomputes the layer.
 *
 * <p>Two losses: the mean cross-entropy of causal-LM training ({@link #forward(Batch)}, {@link #backward()}), and,
 * for preference tuning, any function of the per-row sums of label log-probabilities
 * ({@link #forwardSequenceLogProbs}, {@link #backward(double[])}). The LoRA branches can be switched off
 * ({@link #setAdaptersEnabled}) to run the frozen base alone, the reference model of DPO, without a second copy.
 */
public final class CpuCausalLm implements AutoCloseable {
    /** Upper bound on logits held at once ({@code rows × vocab}); the LM head and loss run chunk by chunk. */
    private static final long LOGITS_CHUNK_ELEMENTS = 1 << 20;

    private final ModelConfig config;
    private final ModelWeights weights;
    private final LoraAdapters lora;
    private final Ops ops;
    private final boolean checkpointing;
    private final int maxTokens;
    private final float scaling;
    private final float eps;
    private final RopeFrequencies rope, localRope;
    private final List<NormWeights> norms = new ArrayList<>();
    private final Tensor finalNorm;
    private final float embeddingScale;
    private final CountingArena arena = new CountingArena(Arena.ofShared());
    // NF4 projections are dequantized into this one buffer, sized for the largest, on every use
    private final MemorySegment dequantScratch;

    // inputs
    private final Tensor tokens, positions, docIds, targets, invFreq, localInvFreq;
    // residual stream: input of each layer, and the output of the last
    private final Tensor[] resid;
    private final List<LayerActivations> states = new ArrayList<>();
    // scratch
    private final Tensor normed, act, proj, dAct, dNormed, dAttn, dQ, dK, dV, dXa, invRmsScratch, dSublayer;
    private final Tensor finalHidden, invRmsFinal, dFinal, dResid, logits, rowLoss;

    // the batch of the last forward, for backward
    private Batch batch;
    private int labelledTokens;
    private boolean adaptersEnabled = true;
    /** What the last forward left ready for backward; NONE once backward ran or when there is nothing to train. */
    private Pending pending = Pending.NONE;

    private enum Pending { NONE, MEAN_LOSS, SEQUENCE_LOG_PROBS }

    /**
     * @param lora      the adapters (their matrices are read on each call, so they may be changed between steps);
     *                  null for the base model alone
     * @param maxRows      most rows a batch will have
     * @param maxSeqLength most tokens per row
     */
    public CpuCausalLm(ModelConfig config, ModelWeights weights, LoraAdapters lora, Ops ops,
                      int maxRows, int maxSeqLength, boolean gradientCheckpointing) {
        this.config = config;
        this.weights = weights;
        this.lora = lora;
        this.ops = ops;
        this.checkpointing = gradientCheckpointing;
        this.maxTokens = Math.multiplyExact(maxRows, maxSeqLength);
        this.scaling = lora == null ? 0f : lora.config().scaling();
        this.eps = (float) config.rmsNormEps();
        this.rope = new RopeFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling(),
                config.maxPositionEmbeddings());
        LayerDesign design = config.design();
        this.localRope = design.localRopeTheta() > 0 ? new RopeFrequencies(config.headDim(),
                design.localRopeTheta(), RopeScaling.NONE, config.maxPositionEmbeddings()) : null;
        for (ModelWeights.Layer layer : weights.layers()) {
            norms.add(NormWeights.of(layer, design.unitOffsetNorms(), arena));
        }
        this.finalNorm = NormWeights.effective(weights.norm(), design.unitOffsetNorms(), arena);
        this.embeddingScale = embeddingScale(config, weights.embedTokens().dtype());
        int n = maxTokens, d = config.hiddenSize(), inter = config.intermediateSize();
        tokens = Tensor.allocate(arena, DType.I32, n);
        positions = Tensor.allocate(arena, DType.I32, n);
        docIds = Tensor.allocate(arena, DType.I32, n);
        targets = Tensor.allocate(arena, DType.I32, n);
        invFreq = Tensor.f32(arena, config.headDim() / 2);
        localInvFreq = Tensor.f32(arena, config.headDim() / 2);
        resid = new Tensor[config.numLayers() + 1];
        for (int l = 0; l < resid.length; l++) {
            resid[l] = Tensor.f32(arena, n, d);
        }
        LoraConfig lc = lora == null ? null : lora.config();
        int kept = checkpointing ? 1 : config.numLayers();
        for (int l = 0; l < kept; l++) {
            states.add(new LayerActivations(config, lc, n, arena));
        }
        int rank = lc == null ? 1 : lc.rank();
        normed = Tensor.f32(arena, n, d);
        act = Tensor.f32(arena, n, inter);
        proj = Tensor.f32(arena, n, d);
        dAct = Tensor.f32(arena, n, inter);
        dNormed = Tensor.f32(arena, n, d);
        dAttn = Tensor.f32(arena, n, config.qWidth());
        dQ = Tensor.f32(arena, n, config.qWidth());
        dK = Tensor.f32(arena, n, config.kvWidth());
        dV = Tensor.f32(arena, n, config.kvWidth());
        dXa = Tensor.f32(arena, n, rank);
        invRmsScratch = Tensor.f32(arena, n);
        dSublayer = design.sandwichNorms() ? Tensor.f32(arena, n, d) : null;
        finalHidden = Tensor.f32(arena, n, d);
        invRmsFinal = Tensor.f32(arena, n);
        dFinal = Tensor.f32(arena, n, d);
        dResid = Tensor.f32(arena, n, d);
        long chunk = Math.max(1, Math.min(n, LOGITS_CHUNK_ELEMENTS / config.vocabSize()));
        logits = Tensor.f32(arena, chunk, config.vocabSize());
        rowLoss = Tensor.f32(arena, n);
        dequantScratch = arena.allocate(Math.max(1, weights.dequantScratchBytes()), 8);
    }

    /**
     * Gemma's {@code sqrt(hidden_size)}, rounded to the embeddings' type as transformers casts it; 1 for the families
     * that do not scale.
     */
    static float embeddingScale(ModelConfig config, DType embeddings) {
        if (!config.design().scaledEmbeddings()) {
            return 1f;
        }
        float scale = (float) Math.sqrt(config.hiddenSize());
        return switch (embeddings) {
            case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(scale));
            case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(scale));
            default -> scale;
        };
    }

    /** Bytes of the buffers the model allocated (activations, scratch, the dequantization buffer). */
    public long bufferBytes() {
        return arena.allocatedBytes();
    }

    public ModelConfig config() {
        return config;
    }

    /**
     * Switches the LoRA branches on (the default) or off for the forwards that follow; off, the model is its frozen
     * base (as PEFT's {@code disable_adapter()}). A forward run with them off cannot be followed by a backward.
     */
    public void setAdaptersEnabled(boolean enabled) {
        this.adaptersEnabled = enabled;
    }

    public boolean adaptersEnabled() {
        return adaptersEnabled;
    }

    /** Mean cross-entropy of the batch; keeps what {@link #backward()} needs. */
    public float forward(Batch batch) {
        return forward(batch, null);
    }

    /**
     * Mean cross-entropy over the labelled tokens (0 if there are none), and the gradient of it with respect to
     * the final hidden states, ready for {@link #backward()}.
     *
     * @param logitsOut null, or an F32 tensor [batch*seqLen, vocab] that receives the logits
     */
    public float forward(Batch batch, Tensor logitsOut) {
        int n = batch.tokenCount();
        if (logitsOut != null) {
            logitsOut.requireShape("logits output", n, config.vocabSize());
        }
        layersForward(batch);
        float gradScale = labelledTokens == 0 ? 0f : 1f / labelledTokens;
        head(n, logitsOut, row -> gradScale, true);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += rowLoss.get(i);
        }
        pending = adaptersEnabled ? Pending.MEAN_LOSS : Pending.NONE;
        return labelledTokens == 0 ? 0f : (float) (sum / labelledTokens);
    }

    /**
     * Per batch row, the sum over its labelled tokens of {@code log p(label)} (HF shift: the logits at t score the
     * label at t+1; -100 labels are skipped, a row without labels gives 0). This is the sequence log-probability
     * of the completion that DPO compares. Keeps what {@link #backward(double[])} needs.
     */
    public double[] forwardSequenceLogProbs(Batch batch) {
        int n = batch.tokenCount(), len = batch.seqLen();
        layersForward(batch);
        head(n, null, row -> 0f, false);
        double[] logProbs = new double[batch.batchSize()];
        for (int i = 0; i < n; i++) {
            logProbs[i / len] -= rowLoss.get(i); // the row loss is -log p(label), 0 where there is no label
        }
        pending = adaptersEnabled ? Pending.SEQUENCE_LOG_PROBS : Pending.NONE;
        return logProbs;
    }

    /** Embedding and decoder layers; the last layer's output is left in the top residual buffer. */
    private void layersForward(Batch batch) {
        int n = batch.tokenCount();
        if (n > maxTokens) {
            throw new IllegalArgumentException("batch of " + batch.batchSize() + " x " + batch.seqLen()
                    + " tokens exceeds the " + maxTokens + " tokens this model was sized for");
        }
        this.batch = batch;
        pending = Pending.NONE;
        loadInputs(batch);
        Tensor x0 = rows(resid[0]);
        ops.embedding(weights.embedTokens(), rows(tokens), x0);
        if (embeddingScale != 1f) {
            ops.scale(x0, embeddingScale);
        }
        for (int l = 0; l < config.numLayers(); l++) {
            layerForward(l, state(l), rows(resid[l]), rows(resid[l + 1]));
        }
        Tensor last = rows(resid[config.numLayers()]);
        ops.rmsNorm(last, finalNorm, eps, rows(finalHidden), rows(invRmsFinal));
    }

    private LayerActivations state(int layer) {
        return states.get(checkpointing ? 0 : layer);
    }

    private Tensor rows(Tensor t) {
        return t.rows(0, batch.tokenCount());
    }

    private void loadInputs(Batch b) {
        int n = b.tokenCount(), seqLen = b.seqLen();
        int maxPosition = 0;
        int labelled = 0;
        for (int i = 0; i < n; i++) {
            tokens.setInt(i, b.tokens()[i]);
            positions.setInt(i, b.positions()[i]);
            docIds.setInt(i, b.documentIds()[i]);
            maxPosition = Math.max(maxPosition, b.positions()[i]);
            // HF shift: logits at t predict the label at t+1 of the same row; the last token predicts nothing.
            int target = (i % seqLen) < seqLen - 1 ? b.labels()[i + 1] : Batch.IGNORE_INDEX;
            if (target != Batch.IGNORE_INDEX && (target < 0 || target >= config.vocabSize())) {
                throw new IllegalArgumentException("label " + target + " at row " + (i / seqLen) + ", token "
                        + (i % seqLen + 1) + " is outside [0, " + config.vocabSize() + ") and is not -100");
            }
            targets.setInt(i, target);
            if (target != Batch.IGNORE_INDEX) {
                labelled++;
            }
        }
        this.labelledTokens = labelled;
        invFreq.copyFrom(rope.forMaxPosition(maxPosition));
        if (localRope != null) {
            localInvFreq.copyFrom(localRope.forMaxPosition(maxPosition));
        }
    }

    private AttentionShape attentionShape(int layer) {
        return new AttentionShape(batch.batchSize(), batch.seqLen(), config.numHeads(), config.numKvHeads(),
                config.headDim(), config.windowOf(layer), config.attentionScale());
    }

    private Tensor invFreq(int layer) {
        return config.localRope(layer) ? localInvFreq : invFreq;
    }

    /** A [tokens, heads * headDim] tensor seen as one row per head, for the per-head norms. */
    private Tensor perHead(Tensor t) {
        return t.reshape(t.size() / config.headDim(), config.headDim());
    }

    private LoraAdapters.Adapter adapter(int layer, LoraTarget t) {
        return lora == null || !adaptersEnabled ? null : lora.adapter(layer, t);
    }

    /** y = x·Wᵀ + bias, plus the LoRA branch if this projection is adapted. */
    private void project(int layer, LoraTarget t, Tensor x, FrozenLinearWeight w, Tensor bias, LayerActivations st,
                         Tensor y) {
        ops.linear(x, w.forUse(dequantScratch), bias, y);
        LoraAdapters.Adapter ad = adapter(layer, t);
        if (ad != null) {
            ops.loraForward(x, ad.a(), ad.b(), scaling, rows(st.xa.get(t)), y);
        }
    }

    /** dX (+)= dY·W, plus the LoRA branch's input gradient, and the LoRA gradients. */
    private void projectBackward(int layer, LoraTarget t, Tensor x, FrozenLinearWeight w, LayerActivations st, Tensor dY,
                                 Tensor dX, boolean accumulate) {
        ops.linearBackwardInput(dY, w.forUse(dequantScratch), dX, accumulate);
        LoraAdapters.Adapter ad = adapter(layer, t);
        if (ad != null) {
            ops.loraBackward(x, rows(st.xa.get(t)), ad.a(), ad.b(), scaling, dY, rows(dXa), ad.gradA(), ad.gradB(), dX);
        }
    }

    private void layerForward(int l, LayerActivations st, Tensor x, Tensor out) {
        ModelWeights.Layer w = weights.layers().get(l);
        NormWeights nw = norms.get(l);
        boolean qkNorm = config.design().qkNorm(), sandwich = config.design().sandwichNorms();
        Tensor n = rows(normed);
        Tensor q = rows(st.q), k = rows(st.k), v = rows(st.v), attn = rows(st.attn), h = rows(st.h);
        ops.rmsNorm(x, nw.input(), eps, n, rows(st.invRms1));
        project(l, LoraTarget.Q, n, w.q(), w.qBias(), st, qkNorm ? rows(st.qRaw) : q);
        project(l, LoraTarget.K, n, w.k(), w.kBias(), st, qkNorm ? rows(st.kRaw) : k);
        project(l, LoraTarget.V, n, w.v(), w.vBias(), st, v);
        if (qkNorm) {
            ops.rmsNorm(perHead(rows(st.qRaw)), nw.q(), eps, perHead(q), headRows(st.invRmsQ, config.numHeads()));
            ops.rmsNorm(perHead(rows(st.kRaw)), nw.k(), eps, perHead(k), headRows(st.invRmsK, config.numKvHeads()));
        }
        ops.rope(q, config.numHeads(), rows(positions), invFreq(l), false);
        ops.rope(k, config.numKvHeads(), rows(positions), invFreq(l), false);
        ops.attention(q, k, v, rows(docIds), attentionShape(l), attn, rows(st.lse));
        Tensor o = sandwich ? rows(st.oRaw) : rows(proj);
        project(l, LoraTarget.O, attn, w.o(), w.oBias(), st, o);
        if (sandwich) {
            ops.rmsNorm(o, nw.attentionOutput(), eps, rows(proj), rows(st.invRmsO));
            o = rows(proj);
        }
        ops.add(x, o, h);

        ops.rmsNorm(h, nw.mlp(), eps, n, rows(st.invRms2));
        Tensor gate = rows(st.gate), up = rows(st.up), a = rows(act);
        project(l, LoraTarget.GATE, n, w.gate(), w.gateBias(), st, gate);
        project(l, LoraTarget.UP, n, w.up(), w.upBias(), st, up);
        activation(gate, up, a);
        Tensor down = sandwich ? rows(st.downRaw) : rows(proj);
        project(l, LoraTarget.DOWN, a, w.down(), w.downBias(), st, down);
        if (sandwich) {
            ops.rmsNorm(down, nw.mlpOutput(), eps, rows(proj), rows(st.invRmsDown));
            down = rows(proj);
        }
        ops.add(h, down, out);
    }

    /** The first rows of a per-head buffer ([tokens * heads]) that the batch uses. */
    private Tensor headRows(Tensor perHeadValues, int heads) {
        return perHeadValues.rows(0, (long) batch.tokenCount() * heads);
    }

    private void activation(Tensor gate, Tensor up, Tensor out) {
        switch (config.design().activation()) {
            case SILU -> ops.swiglu(gate, up, out);
            case GELU_TANH -> ops.geglu(gate, up, out);
        }
    }

    private void activationBackward(Tensor gate, Tensor up, Tensor dOut) {
        switch (config.design().activation()) {
            case SILU -> ops.swigluBackward(gate, up, dOut, gate, up);
            case GELU_TANH -> ops.gegluBackward(gate, up, dOut, gate, up);
        }
    }

    /** The factor of a batch row's token losses in the loss being differentiated. */
    @FunctionalInterface
    private interface RowScale {
        float of(int row);
    }

    /**
     * LM head and cross-entropy of the final hidden states, chunk by chunk, into {@code rowLoss}; with
     * {@code gradient}, also dLoss/dFinalHidden into {@code dFinal} for the loss {@code sum_t scale(row of t) *
     * rowLoss[t]}. Tokens of rows with equal scales share one cross-entropy call, so a constant scale makes one call
     * per chunk.
     */
    private void head(int n, Tensor logitsOut, RowScale scale, boolean gradient) {
        int chunk = Math.toIntExact(logits.dim(0)), len = batch.seqLen();
        for (int start = 0; start < n; start += chunk) {
            int count = Math.min(chunk, n - start);
            Tensor lg = logits.rows(0, count);
            Tensor fh = finalHidden.rows(start, count);
            ops.linear(fh, weights.lmHead(), null, lg);
            if (logitsOut != null) {
                logitsOut.rows(start, count).copyFrom(lg);
            }
            for (int from = start; from < start + count; ) {
                float s = scale.of(from / len);
                int to = from + 1;
                while (to < start + count && scale.of(to / len) == s) {
                    to++;
                }
                ops.crossEntropy(lg.rows(from - start, to - from), targets.rows(from, to - from), s,
                        rowLoss.rows(from, to - from));
                from = to;
            }
            if (gradient) {
                ops.linearBackwardInput(lg, weights.lmHead(), dFinal.rows(start, count), false);
            }
        }
    }

    /**
     * Backpropagates the loss of the last {@link #forward} and adds the LoRA gradients into the adapters' gradient
     * tensors (call {@link LoraAdapters#zeroGradients()} first unless accumulating). Frozen weights get none.
     */
    public void backward() {
        requirePending(Pending.MEAN_LOSS, "backward()", "forward()");
        layersBackward();
    }

    /**
     * Backpropagates {@code sum_b rowCoefficients[b] * logProbs[b]}, {@code logProbs} being the per-row sums of the
     * last {@link #forwardSequenceLogProbs}, and adds the LoRA gradients into the adapters' gradient tensors. For a
     * loss that is a function of those sums, pass its partial derivatives (the chain rule does the rest).
     * d(log p(label))/dlogits is {@code onehot - softmax}: a cross-entropy gradient scaled by {@code -c_b}, which is
     * what the LM head's loss step computes when run again with per-row scales.
     */
    public void backward(double[] rowCoefficients) {
        requirePending(Pending.SEQUENCE_LOG_PROBS, "backward(rowCoefficients)", "forwardSequenceLogProbs()");
        if (rowCoefficients.length != batch.batchSize()) {
            throw new IllegalArgumentException(rowCoefficients.length + " row coefficients for a batch of "
                    + batch.batchSize() + " rows");
        }
        head(batch.tokenCount(), null, row -> (float) -rowCoefficients[row], true);
        layersBackward();
    }

    private void requirePending(Pending needed, String call, String forward) {
        if (pending != needed) {
            throw new IllegalStateException(call + " needs a " + forward + " first, with the adapters enabled (and"
                    + " runs once per forward)");
        }
        pending = Pending.NONE;
    }

    private void layersBackward() {
        int top = config.numLayers();
        Tensor dx = rows(dResid);
        ops.rmsNormBackward(rows(dFinal), rows(resid[top]), finalNorm, rows(invRmsFinal), dx, false);
        for (int l = top - 1; l >= 0; l--) {
            LayerActivations st = state(l);
            if (checkpointing) {
                // Recompute the layer from its saved input; its output goes to scratch (it is not needed again).
                layerForward(l, st, rows(resid[l]), rows(proj));
            }
            layerBackward(l, st, rows(resid[l]), dx);
        }
    }

    /** On entry dx = dLoss/d(layer output); on exit dLoss/d(layer input). */
    private void layerBackward(int l, LayerActivations st, Tensor x, Tensor dx) {
        ModelWeights.Layer w = weights.layers().get(l);
        NormWeights nw = norms.get(l);
        boolean qkNorm = config.design().qkNorm(), sandwich = config.design().sandwichNorms();
        Tensor n = rows(normed), a = rows(act), da = rows(dAct), dn = rows(dNormed);
        Tensor gate = rows(st.gate), up = rows(st.up), h = rows(st.h);

        // MLP: out = h + down(act(gate(n2)) * up(n2)), n2 = norm(h); Gemma 3 norms down's output before the add
        Tensor dDown = dx;
        if (sandwich) {
            dDown = rows(dSublayer);
            ops.rmsNormBackward(dx, rows(st.downRaw), nw.mlpOutput(), rows(st.invRmsDown), dDown, false);
        }
        activation(gate, up, a);
        projectBackward(l, LoraTarget.DOWN, a, w.down(), st, dDown, da, false);
        activationBackward(gate, up, da); // gate and up now hold their gradients
        ops.rmsNorm(h, nw.mlp(), eps, n, rows(invRmsScratch));
        projectBackward(l, LoraTarget.GATE, n, w.gate(), st, gate, dn, false);
        projectBackward(l, LoraTarget.UP, n, w.up(), st, up, dn, true);
        ops.rmsNormBackward(dn, h, nw.mlp(), rows(st.invRms2), dx, true); // dx = dLoss/dh

        // attention: h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = norm(x); q and k normed per head
        // before RoPE (Qwen3, Gemma 3), o's output normed before the add (Gemma 3)
        Tensor dO = dx;
        if (sandwich) {
            dO = rows(dSublayer);
            ops.rmsNormBackward(dx, rows(st.oRaw), nw.attentionOutput(), rows(st.invRmsO), dO, false);
        }
        Tensor dattn = rows(dAttn), dq = rows(dQ), dk = rows(dK), dv = rows(dV);
        projectBackward(l, LoraTarget.O, rows(st.attn), w.o(), st, dO, dattn, false);
        ops.attentionBackward(rows(st.q), rows(st.k), rows(st.v), rows(st.attn), dattn, rows(st.lse), rows(docIds),
                attentionShape(l), dq, dk, dv);
        ops.rope(dq, config.numHeads(), rows(positions), invFreq(l), true);
        ops.rope(dk, config.numKvHeads(), rows(positions), invFreq(l), true);
        if (qkNorm) { // in place: each row is read before it is written
            ops.rmsNormBackward(perHead(dq), perHead(rows(st.qRaw)), nw.q(), headRows(st.invRmsQ, config.numHeads()),
                    perHead(dq), false);
            ops.rmsNormBackward(perHead(dk), perHead(rows(st.kRaw)), nw.k(),
                    headRows(st.invRmsK, config.numKvHeads()), perHead(dk), false);
        }
        ops.rmsNorm(x, nw.input(), eps, n, rows(invRmsScratch));
        projectBackward(l, LoraTarget.Q, n, w.q(), st, dq, dn, false);
        projectBackward(l, LoraTarget.K, n, w.k(), st, dk, dn, true);
        projectBackward(l, LoraTarget.V, n, w.v(), st, dv, dn, true);
        ops.rmsNormBackward(dn, x, nw.input(), rows(st.invRms1), dx, true); // dx = dLoss/dx
    }

    /** Frees the activation buffers (not the weights or adapters, which belong to the caller). */
    @Override
    public void close() {
        arena.close();
    }
}

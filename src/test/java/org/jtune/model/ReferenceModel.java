package org.jtune.model;

import org.jtune.model.cpu.Ops;
import org.jtune.model.cpu.Reference;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Map;

import static org.jtune.model.cpu.GradCheck.toDoubles;

/**
 * The whole forward in double precision, written from the HF definitions with {@link Reference}: Llama and
 * Mistral, and what Qwen2, Qwen3 and Gemma 3 change ({@link LayerDesign}: q/k norms before RoPE, {@code 1 + w}
 * norms, norms on the attention and MLP outputs, scaled embeddings, GeGLU, the query scale, per-layer windows and
 * the local RoPE base). LoRA matrices are passed in by PEFT name so that finite differences can perturb them.
 */
public final class ReferenceModel {
    private final ModelConfig c;
    private final ModelWeights w;
    private final double scaling;
    private final Batch batch;
    private final float[] invFreq, localInvFreq;

    public ReferenceModel(ModelConfig c, ModelWeights w, double scaling, Batch batch) {
        this.c = c;
        this.w = w;
        this.scaling = scaling;
        this.batch = batch;
        int maxPos = 0;
        for (int p : batch.positions()) {
            maxPos = Math.max(maxPos, p);
        }
        this.invFreq = new RopeFrequencies(c.headDim(), c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings())
                .forMaxPosition(maxPos);
        this.localInvFreq = c.design().localRopeTheta() > 0 ? new RopeFrequencies(c.headDim(),
                c.design().localRopeTheta(), RopeScaling.NONE, c.maxPositionEmbeddings()).forMaxPosition(maxPos) : null;
    }

    /** A norm's weight as the model multiplies by it: w, or Gemma's 1 + w. */
    private double[] norm(Tensor weight) {
        double[] w = d(weight);
        if (c.design().unitOffsetNorms()) {
            for (int i = 0; i < w.length; i++) {
                w[i] += 1;
            }
        }
        return w;
    }

    private static double[] d(Tensor t) {
        return t == null ? null : toDoubles(t.toFloatArray());
    }

    /** The weight's values as the model uses them (NF4 dequantized into a buffer of its own). */
    private static double[] d(FrozenLinearWeight w) {
        return d(w.forUse(Arena.ofAuto().allocate(Math.max(1, w.scratchBytes()), 8)));
    }

    private double[] project(int layer, LoraTarget t, double[] x, FrozenLinearWeight weight, Tensor bias,
                             Map<String, double[]> lora) {
        int n = batch.tokenCount(), in = t.inFeatures(c), out = t.outFeatures(c);
        double[] y = Reference.linear(x, n, in, d(weight), out, d(bias));
        String prefix = "base_model.model.model.layers." + layer + "." + t.modulePath() + ".";
        double[] a = lora.get(prefix + "lora_A.weight");
        if (a != null) {
            double[] b = lora.get(prefix + "lora_B.weight");
            int r = a.length / in;
            double[] delta = Reference.loraDelta(x, n, in, a, b, r, out, scaling);
            for (int i = 0; i < y.length; i++) {
                y[i] += delta[i];
            }
        }
        return y;
    }

    /** Logits [tokens, vocab]. */
    public double[] logits(Map<String, double[]> lora) {
        int n = batch.tokenCount(), dm = c.hiddenSize();
        double[] embed = d(w.embedTokens());
        double[] x = new double[n * dm];
        double embedScale = c.design().scaledEmbeddings() ? Math.sqrt(dm) : 1;
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < dm; j++) {
                x[t * dm + j] = embed[batch.tokens()[t] * dm + j] * embedScale;
            }
        }
        double eps = (float) c.rmsNormEps();
        LayerDesign design = c.design();
        int hd = c.headDim();
        for (int l = 0; l < c.numLayers(); l++) {
            ModelWeights.Layer lw = w.layers().get(l);
            double[] n1 = Reference.rmsNorm(x, n, dm, norm(lw.inputNorm()), eps);
            double[] q = project(l, LoraTarget.Q, n1, lw.q(), lw.qBias(), lora);
            double[] k = project(l, LoraTarget.K, n1, lw.k(), lw.kBias(), lora);
            double[] v = project(l, LoraTarget.V, n1, lw.v(), lw.vBias(), lora);
            if (design.qkNorm()) { // each head's vector normed on its own
                q = Reference.rmsNorm(q, n * c.numHeads(), hd, norm(lw.qNorm()), eps);
                k = Reference.rmsNorm(k, n * c.numKvHeads(), hd, norm(lw.kNorm()), eps);
            }
            float[] freq = c.localRope(l) ? localInvFreq : invFreq;
            q = Reference.rope(q, n, c.numHeads(), hd, batch.positions(), freq, false);
            k = Reference.rope(k, n, c.numKvHeads(), hd, batch.positions(), freq, false);
            double scale = 1 / Math.sqrt(design.queryPreAttnScalar() > 0 ? design.queryPreAttnScalar() : hd);
            double[] att = Reference.attention(q, k, v, batch.batchSize(), batch.seqLen(), c.numHeads(),
                    c.numKvHeads(), hd, c.windowOf(l), scale, batch.documentIds(), null);
            double[] o = project(l, LoraTarget.O, att, lw.o(), lw.oBias(), lora);
            if (design.sandwichNorms()) {
                o = Reference.rmsNorm(o, n, dm, norm(lw.attentionOutputNorm()), eps);
            }
            double[] h = new double[x.length];
            for (int i = 0; i < h.length; i++) {
                h[i] = x[i] + o[i];
            }
            double[] n2 = Reference.rmsNorm(h, n, dm, norm(lw.mlpNorm()), eps);
            double[] g = project(l, LoraTarget.GATE, n2, lw.gate(), lw.gateBias(), lora);
            double[] u = project(l, LoraTarget.UP, n2, lw.up(), lw.upBias(), lora);
            double[] act = design.activation() == LayerDesign.Activation.GELU_TANH ? Reference.geglu(g, u)
                    : Reference.swiglu(g, u);
            double[] down = project(l, LoraTarget.DOWN, act, lw.down(), lw.downBias(), lora);
            if (design.sandwichNorms()) {
                down = Reference.rmsNorm(down, n, dm, norm(lw.mlpOutputNorm()), eps);
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = h[i] + down[i];
            }
        }
        double[] fh = Reference.rmsNorm(x, n, dm, norm(w.norm()), eps);
        return Reference.linear(fh, n, dm, d(w.lmHead()), c.vocabSize(), null);
    }

    /** HF causal-LM loss: shifted labels, -100 ignored, mean over counted tokens. */
    public double loss(Map<String, double[]> lora) {
        int[] targets = shiftedTargets();
        int counted = 0;
        for (int t : targets) {
            counted += t != Batch.IGNORE_INDEX ? 1 : 0;
        }
        double sum = 0;
        for (double l : Reference.crossEntropy(logits(lora), batch.tokenCount(), c.vocabSize(), targets)) {
            sum += l;
        }
        return sum / counted;
    }

    /** Per row, the sum of log p(label) over its labelled tokens (shifted as HF does). */
    public double[] sequenceLogProbs(Map<String, double[]> lora) {
        int n = batch.tokenCount(), len = batch.seqLen();
        double[] tokenLoss = Reference.crossEntropy(logits(lora), n, c.vocabSize(), shiftedTargets());
        double[] rows = new double[batch.batchSize()];
        for (int t = 0; t < n; t++) {
            rows[t / len] -= tokenLoss[t];
        }
        return rows;
    }

    private int[] shiftedTargets() {
        int n = batch.tokenCount(), len = batch.seqLen();
        int[] targets = new int[n];
        for (int t = 0; t < n; t++) {
            targets[t] = t % len < len - 1 ? batch.labels()[t + 1] : Batch.IGNORE_INDEX;
        }
        return targets;
    }
}

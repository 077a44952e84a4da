package org.jtune.model;

import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Random weights of the shapes a config calls for: for tests, benchmarks and examples without a checkpoint. */
public final class RandomWeights {
    private RandomWeights() {}

    /**
     * Matrices ~ N(0, std²); norm weights 1 + N(0, 0.1²) (not all ones, so that a wrongly applied weight shows;
     * for Gemma's {@code 1 + w} norms, w ~ N(0, 0.1²));
     * biases N(0, std²). Allocated in {@code arena}.
     */
    public static WeightSource create(ModelConfig c, DType dtype, double std, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> w = new HashMap<>();
        int d = c.hiddenSize(), i = c.intermediateSize();
        put(w, arena, rnd, dtype, std, "model.embed_tokens.weight", c.vocabSize(), d);
        double normCenter = c.design().unitOffsetNorms() ? 0 : 1; // Gemma's norms scale by 1 + w
        LayerDesign design = c.design();
        for (int n = 0; n < c.numLayers(); n++) {
            String p = ModelWeights.layerPrefix(n);
            norm(w, arena, rnd, dtype, normCenter, p + "input_layernorm.weight", d);
            put(w, arena, rnd, dtype, std, p + "self_attn.q_proj.weight", c.qWidth(), d);
            put(w, arena, rnd, dtype, std, p + "self_attn.k_proj.weight", c.kvWidth(), d);
            put(w, arena, rnd, dtype, std, p + "self_attn.v_proj.weight", c.kvWidth(), d);
            put(w, arena, rnd, dtype, std, p + "self_attn.o_proj.weight", d, c.qWidth());
            if (c.qkvBias()) {
                put(w, arena, rnd, dtype, std, p + "self_attn.q_proj.bias", c.qWidth());
                put(w, arena, rnd, dtype, std, p + "self_attn.k_proj.bias", c.kvWidth());
                put(w, arena, rnd, dtype, std, p + "self_attn.v_proj.bias", c.kvWidth());
            }
            if (c.attentionBias()) {
                put(w, arena, rnd, dtype, std, p + "self_attn.o_proj.bias", d);
            }
            if (design.qkNorm()) {
                norm(w, arena, rnd, dtype, normCenter, p + "self_attn.q_norm.weight", c.headDim());
                norm(w, arena, rnd, dtype, normCenter, p + "self_attn.k_norm.weight", c.headDim());
            }
            if (design.sandwichNorms()) {
                norm(w, arena, rnd, dtype, normCenter, p + "post_attention_layernorm.weight", d);
                norm(w, arena, rnd, dtype, normCenter, p + "pre_feedforward_layernorm.weight", d);
                norm(w, arena, rnd, dtype, normCenter, p + "post_feedforward_layernorm.weight", d);
            } else {
                norm(w, arena, rnd, dtype, normCenter, p + "post_attention_layernorm.weight", d);
            }
            put(w, arena, rnd, dtype, std, p + "mlp.gate_proj.weight", i, d);
            put(w, arena, rnd, dtype, std, p + "mlp.up_proj.weight", i, d);
            put(w, arena, rnd, dtype, std, p + "mlp.down_proj.weight", d, i);
            if (c.mlpBias()) {
                put(w, arena, rnd, dtype, std, p + "mlp.gate_proj.bias", i);
                put(w, arena, rnd, dtype, std, p + "mlp.up_proj.bias", i);
                put(w, arena, rnd, dtype, std, p + "mlp.down_proj.bias", d);
            }
        }
        norm(w, arena, rnd, dtype, normCenter, "model.norm.weight", d);
        if (!c.tieWordEmbeddings()) {
            put(w, arena, rnd, dtype, std, "lm_head.weight", c.vocabSize(), d);
        }
        return WeightSource.of(w, "random weights (seed " + seed + ")");
    }

    private static void put(Map<String, Tensor> w, Arena arena, SplittableRandom rnd, DType dtype, double std,
                            String name, long... shape) {
        Tensor t = Tensor.allocate(arena, dtype, shape);
        for (long j = 0; j < t.size(); j++) {
            t.set(j, (float) (rnd.nextGaussian() * std));
        }
        w.put(name, t);
    }

    private static void norm(Map<String, Tensor> w, Arena arena, SplittableRandom rnd, DType dtype, double center,
                             String name, long size) {
        Tensor t = Tensor.allocate(arena, dtype, size);
        for (long j = 0; j < size; j++) {
            t.set(j, (float) (center + 0.1 * rnd.nextGaussian()));
        }
        w.put(name, t);
    }
}

package org.jtune.export;

import org.jtune.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LlamaTensorPlanTest {
    @Test
    void namesShapesAndOrderOfTheLlamaArchitecture() {
        ModelConfig c = TensorTypeRulesTest.config(2, 64, 96, 4, 2, 100);
        List<LlamaTensorPlan.Entry> plan = LlamaTensorPlan.of(c, true);
        assertEquals(List.of("rope_freqs.weight", "token_embd.weight",
                "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
                "blk.0.attn_output.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
                "blk.0.ffn_down.weight",
                "blk.1.attn_norm.weight", "blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight",
                "blk.1.attn_output.weight", "blk.1.ffn_norm.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight",
                "blk.1.ffn_down.weight", "output_norm.weight", "output.weight"),
                plan.stream().map(LlamaTensorPlan.Entry::name).toList());
        LlamaTensorPlan.Entry k = plan.get(4);
        assertEquals("model.layers.0.self_attn.k_proj.weight", k.source());
        assertEquals(32, k.rows());
        assertEquals(64, k.columns());
        assertEquals(2, k.permuteHeads());
        assertEquals(4, plan.get(3).permuteHeads());
        assertEquals(0, plan.get(5).permuteHeads());
        assertEquals(8, plan.get(0).columns(), "rope_freqs: one factor per frequency, head_dim / 2");
        assertEquals("lm_head.weight", plan.get(plan.size() - 1).source());
        assertEquals("model.layers.1.mlp.down_proj.weight", plan.get(19).source());
        assertEquals(96, plan.get(19).columns());
    }

    /**
     * The point of the permutation: transformers rotates (x[i], x[i + d/2]) pairs, llama.cpp's llama architecture
     * (x[2i], x[2i+1]) pairs, both by angle pos·θ_i. Projecting with the permuted weights and rotating as llama.cpp
     * does must give the permuted result of transformers' rotation.
     */
    @Test
    void permutedRowsTurnLlamaCppsRopeIntoTransformers() {
        Random rnd = new Random(5);
        int heads = 3;
        int d = 8;
        double[] q = new double[heads * d];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextGaussian();
        }
        int pos = 7;
        double[] hf = new double[q.length];
        double[] permuted = new double[q.length];
        for (int row = 0; row < q.length; row++) {
            permuted[row] = q[(int) LlamaTensorPlan.sourceRow(row, d)];
        }
        double[] cpp = permuted.clone();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                double angle = pos * Math.pow(10000, -2.0 * i / d);
                double cos = Math.cos(angle), sin = Math.sin(angle);
                int a = h * d + i, b = h * d + i + d / 2;           // transformers' rotate_half pairs
                hf[a] = q[a] * cos - q[b] * sin;
                hf[b] = q[b] * cos + q[a] * sin;
                int x = h * d + 2 * i, y = h * d + 2 * i + 1;       // llama.cpp's adjacent pairs
                cpp[x] = permuted[x] * cos - permuted[y] * sin;
                cpp[y] = permuted[y] * cos + permuted[x] * sin;
            }
        }
        for (int row = 0; row < q.length; row++) {
            assertEquals(hf[(int) LlamaTensorPlan.sourceRow(row, d)], cpp[row], 1e-12, "row " + row);
        }
    }
}

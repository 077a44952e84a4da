package org.jtune.export;

import org.jtune.model.LayerDesign;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a model in a GGUF file, named and shaped as llama.cpp's converter writes its architecture
 * ({@link GgufArchitecture}): {@code token_embd}, per layer {@code blk.N.attn_norm, attn_q, attn_k, attn_v,
 * attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, then {@code output_norm} and {@code output} (left out when the
 * embeddings are tied: llama.cpp then uses {@code token_embd}), and {@code rope_freqs} for Llama 3 RoPE scaling.
 * The families add, per layer: Qwen2 {@code attn_q.bias, attn_k.bias, attn_v.bias}; Qwen3 and Gemma 3
 * {@code attn_q_norm, attn_k_norm}; Gemma 3 {@code post_attention_norm} and {@code post_ffw_norm} (its
 * {@code ffn_norm} is {@code pre_feedforward_layernorm}), with every norm weight stored plus one.
 * For the {@code llama} architecture the rows of {@code attn_q} and {@code attn_k} are permuted per head from
 * transformers' half-split RoPE layout to the interleaved pairs llama.cpp rotates.
 */
public final class LlamaTensorPlan {
    /**
     * One tensor to write.
     *
     * @param source       the transformers tensor name, or null for a tensor computed here ({@code rope_freqs})
     * @param rows         1 for vectors
     * @param permuteHeads heads whose rows are reordered for llama.cpp's RoPE, 0 for none
     * @param lora         the projection whose LoRA adapter merges into this weight, or null
     * @param offset       added to every value (Gemma's norm weights: {@link GgufArchitecture#normOffset})
     */
    public record Entry(String name, String source, TensorTypeRules.Role role, int layer, long rows, long columns,
                        int permuteHeads, LoraTarget lora, float offset) {
        public boolean vector() {
            return role == TensorTypeRules.Role.VECTOR;
        }
    }

    public static final String ROPE_FREQS = "rope_freqs.weight";

    private LlamaTensorPlan() {}

    /** The tensors of a model with this config, in file order. */
    public static List<Entry> of(ModelConfig c, boolean ropeFreqs) {
        GgufArchitecture arch = GgufArchitecture.of(c);
        LayerDesign design = c.design();
        float normOffset = arch.normOffset();
        boolean permute = arch.permutesQueryKey();
        List<Entry> out = new ArrayList<>();
        if (ropeFreqs) {
            out.add(new Entry(ROPE_FREQS, null, TensorTypeRules.Role.VECTOR, -1, 1, c.headDim() / 2, 0, null, 0f));
        }
        TensorTypeRules.Role embedRole = c.tieWordEmbeddings() ? TensorTypeRules.Role.OUTPUT
                : TensorTypeRules.Role.TOKEN_EMBEDDING;
        out.add(matrix("token_embd.weight", "model.embed_tokens.weight", embedRole, -1, c.vocabSize(), c.hiddenSize(),
                0, null));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = ModelWeights.layerPrefix(l);
            String b = "blk." + l + ".";
            out.add(vector(b + "attn_norm.weight", p + "input_layernorm.weight", c.hiddenSize(), normOffset));
            out.add(projection(c, b + "attn_q.weight", l, LoraTarget.Q, TensorTypeRules.Role.OTHER_MATRIX,
                    permute ? c.numHeads() : 0));
            if (c.qkvBias()) {
                out.add(vector(b + "attn_q.bias", p + "self_attn.q_proj.bias", c.qWidth(), 0f));
            }
            out.add(projection(c, b + "attn_k.weight", l, LoraTarget.K, TensorTypeRules.Role.OTHER_MATRIX,
                    permute ? c.numKvHeads() : 0));
            if (c.qkvBias()) {
                out.add(vector(b + "attn_k.bias", p + "self_attn.k_proj.bias", c.kvWidth(), 0f));
            }
            out.add(projection(c, b + "attn_v.weight", l, LoraTarget.V, TensorTypeRules.Role.ATTN_V, 0));
            if (c.qkvBias()) {
                out.add(vector(b + "attn_v.bias", p + "self_attn.v_proj.bias", c.kvWidth(), 0f));
            }
            if (design.qkNorm()) {
                out.add(vector(b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", c.headDim(), normOffset));
                out.add(vector(b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", c.headDim(), normOffset));
            }
            out.add(projection(c, b + "attn_output.weight", l, LoraTarget.O, TensorTypeRules.Role.OTHER_MATRIX, 0));
            if (design.sandwichNorms()) {
                out.add(vector(b + "post_attention_norm.weight", p + "post_attention_layernorm.weight", c.hiddenSize(),
                        normOffset));
                out.add(vector(b + "ffn_norm.weight", p + "pre_feedforward_layernorm.weight", c.hiddenSize(),
                        normOffset));
            } else {
                out.add(vector(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", c.hiddenSize(),
                        normOffset));
            }
            out.add(projection(c, b + "ffn_gate.weight", l, LoraTarget.GATE, TensorTypeRules.Role.OTHER_MATRIX, 0));
            out.add(projection(c, b + "ffn_up.weight", l, LoraTarget.UP, TensorTypeRules.Role.OTHER_MATRIX, 0));
            out.add(projection(c, b + "ffn_down.weight", l, LoraTarget.DOWN, TensorTypeRules.Role.FFN_DOWN, 0));
            if (design.sandwichNorms()) {
                out.add(vector(b + "post_ffw_norm.weight", p + "post_feedforward_layernorm.weight", c.hiddenSize(),
                        normOffset));
            }
        }
        out.add(vector("output_norm.weight", "model.norm.weight", c.hiddenSize(), normOffset));
        if (!c.tieWordEmbeddings()) {
            out.add(matrix("output.weight", "lm_head.weight", TensorTypeRules.Role.OUTPUT, -1, c.vocabSize(),
                    c.hiddenSize(), 0, null));
        }
        return List.copyOf(out);
    }

    private static Entry projection(ModelConfig c, String name, int layer, LoraTarget t, TensorTypeRules.Role role,
                                    int permuteHeads) {
        return matrix(name, ModelWeights.layerPrefix(layer) + t.modulePath() + ".weight", role, layer,
                t.outFeatures(c), t.inFeatures(c), permuteHeads, t);
    }

    private static Entry matrix(String name, String source, TensorTypeRules.Role role, int layer, long rows,
                                long columns, int permuteHeads, LoraTarget lora) {
        return new Entry(name, source, role, layer, rows, columns, permuteHeads, lora, 0f);
    }

    private static Entry vector(String name, String source, long length, float offset) {
        return new Entry(name, source, TensorTypeRules.Role.VECTOR, -1, 1, length, 0, null, offset);
    }

    /**
     * The source row of output row {@code row} of a matrix permuted for llama.cpp's RoPE: within each head of
     * {@code headDim} rows, output rows {@code 2i} and {@code 2i+1} are source rows {@code i} and
     * {@code i + headDim/2} (the converter's reshape(heads, 2, headDim/2).swapaxes(1, 2)).
     */
    public static long sourceRow(long row, long headDim) {
        long head = row / headDim;
        long within = row % headDim;
        return head * headDim + (within % 2) * (headDim / 2) + within / 2;
    }
}

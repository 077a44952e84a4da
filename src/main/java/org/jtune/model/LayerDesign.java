package org.jtune.model;

import java.util.List;

/**
 * Where a family's decoder departs from Llama's, as its transformers modeling code computes it. Llama and Mistral
 * are {@link #LLAMA}; Qwen2, Qwen3 and Gemma 3 set what they change.
 *
 * @param qkvBias            q, k and v carry biases and o does not (Qwen2), whatever {@code attention_bias} says
 * @param qkNorm             an RMSNorm over each head of q and of k, before RoPE ({@code q_norm}, {@code k_norm}:
 *                           Qwen3, Gemma 3)
 * @param unitOffsetNorms    every RMSNorm scales by {@code 1 + w} rather than {@code w} (Gemma)
 * @param sandwichNorms      the attention and MLP outputs are normalized before their residual adds
 *                           ({@code post_attention_layernorm}, {@code post_feedforward_layernorm}), and the MLP's
 *                           input norm is {@code pre_feedforward_layernorm} (Gemma 3)
 * @param scaledEmbeddings   the embeddings are multiplied by {@code sqrt(hidden_size)} (Gemma)
 * @param activation         of the gate projection: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU, Gemma)
 * @param queryPreAttnScalar 0: scores scale by {@code 1/sqrt(head_dim)}; else by {@code 1/sqrt(this)} (Gemma 3)
 * @param slidingLayers      per layer, whether it attends within the sliding window; empty: every layer does when
 *                           the config has a window (Mistral)
 * @param localRopeTheta     RoPE base of the sliding layers, unscaled (Gemma 3's {@code rope_local_base_freq}); 0:
 *                           every layer uses the config's RoPE
 */
public record LayerDesign(boolean qkvBias, boolean qkNorm, boolean unitOffsetNorms, boolean sandwichNorms,
                          boolean scaledEmbeddings, Activation activation, double queryPreAttnScalar,
                          List<Boolean> slidingLayers, double localRopeTheta) {

    /** The gate's nonlinearity. */
    public enum Activation {
        /** {@code silu(gate) * up}. */
        SILU,
        /** {@code gelu_tanh(gate) * up} ({@code gelu_pytorch_tanh}). */
        GELU_TANH
    }

    /** Llama's and Mistral's layer. */
    public static final LayerDesign LLAMA = new LayerDesign(false, false, false, false, false, Activation.SILU, 0,
            List.of(), 0);

    public LayerDesign {
        slidingLayers = List.copyOf(slidingLayers);
        if (!(queryPreAttnScalar >= 0) || !Double.isFinite(queryPreAttnScalar)) {
            throw new ModelConfigException("query_pre_attn_scalar must be a positive number, got "
                    + queryPreAttnScalar);
        }
        if (!(localRopeTheta >= 0 && localRopeTheta <= ModelConfig.MAX_ROPE_THETA)) {
            throw new ModelConfigException("the local RoPE base must be a positive number up to "
                    + ModelConfig.MAX_ROPE_THETA + ", got " + localRopeTheta);
        }
    }

    /** Whether this is Llama's layer (what the GPU engines and the GGUF export are written for). */
    public boolean isLlama() {
        return equals(LLAMA);
    }
}

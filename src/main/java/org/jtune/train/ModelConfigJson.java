package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeScaling;
import org.jtune.tensor.DType;

/** A transformers {@code config.json} for a {@link ModelConfig}, for checkpoints written here. */
final class ModelConfigJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ModelConfigJson() {}

    /** The name transformers gives a dtype in {@code torch_dtype}. */
    static String torchName(DType dtype) {
        return switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            default -> throw new IllegalArgumentException("a checkpoint cannot be written as " + dtype
                    + " (bfloat16, float16, float32)");
        };
    }

    /**
     * {@code original} (the base model's config.json, keeping keys this project does not model) or, when null, a
     * config built from {@code c}; either way with the weights' dtype set.
     */
    static ObjectNode of(ModelConfig c, DType dtype, JsonNode original) {
        ObjectNode root;
        if (original != null) {
            root = original.deepCopy();
        } else {
            root = NODES.objectNode();
            root.putArray("architectures").add(c.architecture());
            root.put("model_type", c.modelType());
            root.put("vocab_size", c.vocabSize());
            root.put("hidden_size", c.hiddenSize());
            root.put("intermediate_size", c.intermediateSize());
            root.put("num_hidden_layers", c.numLayers());
            root.put("num_attention_heads", c.numHeads());
            root.put("num_key_value_heads", c.numKvHeads());
            root.put("head_dim", c.headDim());
            root.put("hidden_act", "silu");
            root.put("rms_norm_eps", c.rmsNormEps());
            root.put("rope_theta", c.ropeTheta());
            root.set("rope_scaling", ropeScaling(c.ropeScaling()));
            root.put("max_position_embeddings", c.maxPositionEmbeddings());
            root.put("tie_word_embeddings", c.tieWordEmbeddings());
            if (c.modelType().equals("mistral")) {
                root.set("sliding_window", c.slidingWindow() == 0 ? NODES.nullNode() : NODES.numberNode(c.slidingWindow()));
            } else {
                root.put("attention_bias", c.attentionBias());
                root.put("mlp_bias", c.mlpBias());
            }
            if (c.bosTokenId() >= 0) {
                root.put("bos_token_id", c.bosTokenId());
            }
            if (c.eosTokenIds().size() == 1) {
                root.put("eos_token_id", c.eosTokenIds().get(0));
            } else if (!c.eosTokenIds().isEmpty()) {
                c.eosTokenIds().forEach(root.putArray("eos_token_id")::add);
            }
        }
        // transformers 4 reads torch_dtype, 5 reads dtype and still accepts torch_dtype
        if (root.has("dtype")) {
            root.put("dtype", torchName(dtype));
        }
        if (root.has("torch_dtype") || !root.has("dtype")) {
            root.put("torch_dtype", torchName(dtype));
        }
        return root;
    }

    private static JsonNode ropeScaling(RopeScaling s) {
        if (s.type() == RopeScaling.Type.DEFAULT) {
            return NODES.nullNode();
        }
        ObjectNode n = NODES.objectNode();
        switch (s.type()) {
            case LINEAR -> n.put("rope_type", "linear").put("factor", s.factor());
            case DYNAMIC -> n.put("rope_type", "dynamic").put("factor", s.factor());
            case LLAMA3 -> n.put("rope_type", "llama3").put("factor", s.factor())
                    .put("low_freq_factor", s.lowFreqFactor()).put("high_freq_factor", s.highFreqFactor())
                    .put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            case DEFAULT -> throw new AssertionError();
        }
        return n;
    }
}

package org.jtune.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.StrictJson;
import org.jtune.tensor.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A transformers {@code config.json} and {@link ModelConfig}, both ways: what a config means (with transformers'
 * defaults for absent fields, v4 and v5 key names) and the config written for checkpoints made here.
 */
public final class ModelConfigJson {
    private static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ModelConfigJson() {}

    /** Parses the JSON text of a config; {@code source} names it in error messages. */
    static ModelConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = StrictJson.parse(json);
        } catch (JsonProcessingException e) {
            throw new ModelConfigException(source + ": not valid JSON: " + StrictJson.reason(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelConfigException(source + ": expected a JSON object");
        }
        try {
            return fromJson(root, source);
        } catch (IllegalArgumentException e) {
            if (e instanceof ModelConfigException && e.getMessage().startsWith(source)) {
                throw e;
            }
            throw new ModelConfigException(source + ": " + e.getMessage(), e);
        }
    }

    private static ModelConfig fromJson(JsonNode root, String source) {
        Fields f = new Fields(root);
        String architecture = architecture(root, source);
        String modelType = f.string("model_type", null);
        if (modelType == null) {
            modelType = architecture.equals("MistralForCausalLM") ? "mistral" : "llama";
        }
        if (!modelType.equals("llama") && !modelType.equals("mistral")) {
            throw new ModelConfigException(source + ": model_type \"" + modelType
                    + "\" is not supported (supported: llama, mistral)");
        }
        boolean mistral = modelType.equals("mistral");

        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ModelConfigException("hidden_act \"" + act + "\" is not supported (only silu)");
        }
        int hidden = f.integer("hidden_size", 4096);
        int heads = f.integer("num_attention_heads", 32);
        Integer kvField = f.optionalInteger("num_key_value_heads");
        int kvHeads = kvField != null ? kvField : (mistral ? 8 : heads);
        Integer headDimField = f.optionalInteger("head_dim");
        if (headDimField == null && heads > 0 && hidden % heads != 0) {
            throw new ModelConfigException("hidden_size (" + hidden + ") is not a multiple of num_attention_heads ("
                    + heads + ") and head_dim is not given");
        }
        int headDim = headDimField != null ? headDimField : (heads > 0 ? hidden / heads : 0);
        int maxPos = f.integer("max_position_embeddings", mistral ? 4096 * 32 : 2048);

        Integer window = mistral ? (root.has("sliding_window") ? f.optionalInteger("sliding_window") : Integer.valueOf(4096))
                : null;
        if (window != null && window <= 0) {
            throw new ModelConfigException("sliding_window must be positive or null, got " + window);
        }

        JsonNode ropeParams = root.get("rope_parameters");
        JsonNode ropeScalingNode = root.get("rope_scaling");
        JsonNode ropeNode = ropeParams != null && !ropeParams.isNull() ? ropeParams : ropeScalingNode;
        double theta = root.has("rope_theta") && !root.get("rope_theta").isNull() ? f.number("rope_theta", 10000) : 10000;
        if (ropeNode != null && ropeNode.has("rope_theta")) {
            theta = new Fields(ropeNode, "rope parameters").number("rope_theta", theta);
        }
        RopeScaling scaling = ropeScaling(ropeNode);

        return new ModelConfig(architecture, modelType,
                f.integer("vocab_size", 32000), hidden, f.integer("intermediate_size", mistral ? 14336 : 11008),
                f.integer("num_hidden_layers", 32), heads, kvHeads, headDim,
                f.number("rms_norm_eps", 1e-6), theta, scaling, maxPos,
                window == null ? 0 : window,
                f.bool("tie_word_embeddings", false),
                !mistral && f.bool("attention_bias", false),
                !mistral && f.bool("mlp_bias", false),
                f.optionalInteger("bos_token_id") == null ? -1 : f.optionalInteger("bos_token_id"),
                eosIds(root.get("eos_token_id")),
                dtype(root));
    }

    private static String architecture(JsonNode root, String source) {
        JsonNode archs = root.get("architectures");
        if (archs == null || archs.isNull()) {
            JsonNode type = root.get("model_type");
            if (type == null || !type.isTextual()) {
                throw new ModelConfigException(source + ": neither \"architectures\" nor \"model_type\" is given");
            }
            return switch (type.asText()) {
                case "llama" -> "LlamaForCausalLM";
                case "mistral" -> "MistralForCausalLM";
                default -> throw new ModelConfigException(source + ": model_type \"" + type.asText()
                        + "\" is not supported (supported: llama, mistral)");
            };
        }
        List<String> names = new ArrayList<>();
        for (JsonNode a : archs) {
            names.add(a.asText());
            if (SUPPORTED.contains(a.asText())) {
                return a.asText();
            }
        }
        throw new ModelConfigException(source + ": architecture " + String.join(", ", names)
                + " is not supported (supported: " + String.join(", ", SUPPORTED) + ")");
    }

    private static RopeScaling ropeScaling(JsonNode node) {
        if (node == null || node.isNull()) {
            return RopeScaling.NONE;
        }
        if (!node.isObject()) {
            throw new ModelConfigException("rope parameters must be an object, got " + node);
        }
        Fields f = new Fields(node, "rope parameters");
        String type = f.string("rope_type", null);
        if (type == null) {
            type = f.string("type", "default");
        }
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear(f.requiredNumber("factor"));
            case "dynamic" -> RopeScaling.dynamic(f.requiredNumber("factor"));
            case "llama3" -> RopeScaling.llama3(f.requiredNumber("factor"), f.requiredNumber("low_freq_factor"),
                    f.requiredNumber("high_freq_factor"), (int) f.requiredNumber("original_max_position_embeddings"));
            default -> throw new ModelConfigException("rope_type \"" + type
                    + "\" is not supported (supported: default, linear, dynamic, llama3)");
        };
    }

    private static List<Integer> eosIds(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isIntegralNumber()) {
            ids.add(node.asInt());
        } else if (node.isArray()) {
            for (JsonNode n : node) {
                if (!n.isIntegralNumber()) {
                    throw new ModelConfigException("eos_token_id entries must be integers, got " + n);
                }
                ids.add(n.asInt());
            }
        } else {
            throw new ModelConfigException("eos_token_id must be an integer or a list of integers, got " + node);
        }
        return ids;
    }

    private static DType dtype(JsonNode root) {
        JsonNode node = root.has("dtype") && !root.get("dtype").isNull() ? root.get("dtype") : root.get("torch_dtype");
        if (node == null || node.isNull()) {
            return null;
        }
        return switch (node.asText().toLowerCase(Locale.ROOT).replace("torch.", "")) {
            case "bfloat16" -> DType.BF16;
            case "float16", "half" -> DType.F16;
            case "float32", "float" -> DType.F32;
            case "auto" -> null;
            default -> throw new ModelConfigException("dtype \"" + node.asText()
                    + "\" is not supported (bfloat16, float16, float32)");
        };
    }

    /** Typed access to JSON fields with clear errors for wrong types. */
    private record Fields(JsonNode node, String where) {
        Fields(JsonNode node) {
            this(node, null);
        }

        private String name(String field) {
            return where == null ? field : field + " (in " + where + ")";
        }

        String string(String field, String fallback) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isTextual()) {
                throw new ModelConfigException(name(field) + " must be a string, got " + v);
            }
            return v.asText();
        }

        Integer optionalInteger(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new ModelConfigException(name(field) + " must be an integer, got " + v);
            }
            return v.asInt();
        }

        int integer(String field, int fallback) {
            Integer v = optionalInteger(field);
            return v == null ? fallback : v;
        }

        double number(String field, double fallback) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                throw new ModelConfigException(name(field) + " must be a finite number, got " + v);
            }
            return v.asDouble();
        }

        double requiredNumber(String field) {
            if (!node.has(field) || node.get(field).isNull()) {
                throw new ModelConfigException(name(field) + " is required");
            }
            return number(field, Double.NaN);
        }

        boolean bool(String field, boolean fallback) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw new ModelConfigException(name(field) + " must be true or false, got " + v);
            }
            return v.asBoolean();
        }
    }

    /** The name transformers gives a dtype in {@code torch_dtype}. */
    public static String torchName(DType dtype) {
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
    public static ObjectNode write(ModelConfig c, DType dtype, JsonNode original) {
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
            root.set("rope_scaling", ropeScalingJson(c.ropeScaling()));
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

    private static JsonNode ropeScalingJson(RopeScaling s) {
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

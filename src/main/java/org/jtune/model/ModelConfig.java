package org.jtune.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.io.StrictJson;
import org.jtune.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fields of a Hugging Face {@code config.json} (Llama or Mistral, transformers v4 or v5) that change the math.
 *
 * @param slidingWindow Mistral attention window in tokens; 0 when off
 * @param bosTokenId    -1 when absent
 * @param dtype         storage type of the unquantized weights ({@code dtype}/{@code torch_dtype}); null if unset
 */
public record ModelConfig(
        String architecture, String modelType,
        int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim,
        double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
        int slidingWindow, boolean tieWordEmbeddings, boolean attentionBias, boolean mlpBias,
        int bosTokenId, List<Integer> eosTokenIds, DType dtype) {

    private static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM");
    /** Far above the bases in use (1e4 to 1e8); larger values are not a model, but a corrupted file. */
    static final double MAX_ROPE_THETA = 1e12;

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("num_key_value_heads", numKvHeads);
        requirePositive("head_dim", headDim);
        requirePositive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new ModelConfigException("num_attention_heads (" + numHeads
                    + ") is not a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new ModelConfigException("head_dim must be even for rotary embeddings, got " + headDim);
        }
        if (!(rmsNormEps > 0 && rmsNormEps < 1)) {
            throw new ModelConfigException("rms_norm_eps must be a small positive number (below 1; models use "
                    + "1e-5 or 1e-6), got " + rmsNormEps);
        }
        if (!(ropeTheta > 0 && ropeTheta <= MAX_ROPE_THETA)) {
            throw new ModelConfigException("rope_theta must be a positive number up to " + MAX_ROPE_THETA + ", got "
                    + ropeTheta);
        }
        if (slidingWindow < 0) {
            throw new ModelConfigException("sliding_window must be positive or null, got " + slidingWindow);
        }
        if (ropeScaling.type() == RopeScaling.Type.DYNAMIC && headDim <= 2) {
            throw new ModelConfigException("dynamic rope scaling needs head_dim > 2, got " + headDim);
        }
    }

    private static void requirePositive(String field, int value) {
        if (value <= 0) {
            throw new ModelConfigException(field + " must be positive, got " + value);
        }
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Width of the q projection output, heads * head_dim. */
    public int qWidth() {
        return numHeads * headDim;
    }

    /** Width of the k and v projection outputs, kv heads * head_dim. */
    public int kvWidth() {
        return numKvHeads * headDim;
    }

    /** Reads and checks {@code config.json}. */
    public static ModelConfig load(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }

    /** Parses the JSON text of a config; {@code source} names it in error messages. */
    public static ModelConfig parse(String json, String source) {
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
}

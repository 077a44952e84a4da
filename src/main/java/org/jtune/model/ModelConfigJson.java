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
    private static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM",
            "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Gemma3ForCausalLM");
    private static final String SUPPORTED_TYPES = "llama, mistral, qwen2, qwen3, gemma3_text";
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
        Family family = Family.ofArchitecture(architecture);
        String modelType = f.string("model_type", family.modelType);
        Family typed = Family.ofModelType(modelType);
        if (typed == null) {
            throw new ModelConfigException(source + ": model_type \"" + modelType + "\" is not supported (supported: "
                    + SUPPORTED_TYPES + ")" + visionHint(modelType));
        }
        if (typed != family && !(typed.llamaLike() && family.llamaLike())) {
            throw new ModelConfigException(source + ": model_type \"" + modelType + "\" does not match architecture "
                    + architecture + " (which is \"" + family.modelType + "\")");
        }
        family = typed; // a Llama architecture with model_type mistral is read as Mistral, as transformers does

        String actField = family == Family.GEMMA3 && !root.has("hidden_act") ? "hidden_activation" : "hidden_act";
        String act = f.string(actField, family == Family.GEMMA3 ? "gelu_pytorch_tanh" : "silu");
        String expectedAct = family == Family.GEMMA3 ? "gelu_pytorch_tanh" : "silu";
        if (!act.equals(expectedAct)) {
            throw new ModelConfigException(actField + " \"" + act + "\" is not supported for " + modelType + " (only "
                    + expectedAct + ")");
        }
        int layers = f.integer("num_hidden_layers", family.layers);
        int hidden = f.integer("hidden_size", family.hidden);
        int heads = f.integer("num_attention_heads", family.heads);
        Integer kvField = f.optionalInteger("num_key_value_heads");
        int kvHeads = kvField != null ? kvField : family.kvHeads > 0 ? family.kvHeads : heads;
        Integer headDimField = f.optionalInteger("head_dim");
        if (headDimField == null && family.headDim > 0) {
            headDimField = family.headDim;
        }
        if (headDimField == null && heads > 0 && hidden % heads != 0) {
            throw new ModelConfigException("hidden_size (" + hidden + ") is not a multiple of num_attention_heads ("
                    + heads + ") and head_dim is not given");
        }
        int headDim = headDimField != null ? headDimField : (heads > 0 ? hidden / heads : 0);
        int maxPos = f.integer("max_position_embeddings", family.maxPositions);

        Integer window = slidingWindow(f, root, family);
        if (window != null && window <= 0) {
            throw new ModelConfigException("sliding_window must be positive or null, got " + window);
        }
        for (String capping : List.of("final_logit_softcapping", "attn_logit_softcapping")) {
            if (root.has(capping) && !root.get(capping).isNull()) {
                throw new ModelConfigException(capping + " is set (" + root.get(capping) + "): logit soft-capping is"
                        + " not supported");
            }
        }
        if (f.bool("use_bidirectional_attention", false)) {
            throw new ModelConfigException("use_bidirectional_attention is set: only causal language models are "
                    + "supported");
        }

        Rope rope = Rope.parse(root, f, family);
        List<Boolean> sliding = family.llamaLike() ? List.of()
                : slidingLayers(root, f, family, layers, window);
        LayerDesign design = switch (family) {
            case LLAMA, MISTRAL -> LayerDesign.LLAMA;
            case QWEN2 -> new LayerDesign(true, false, false, false, false, LayerDesign.Activation.SILU, 0, sliding,
                    0);
            case QWEN3 -> new LayerDesign(false, true, false, false, false, LayerDesign.Activation.SILU, 0, sliding,
                    0);
            case GEMMA3 -> new LayerDesign(false, true, true, true, true, LayerDesign.Activation.GELU_TANH,
                    f.number("query_pre_attn_scalar", 256), sliding, rope.localTheta);
        };
        boolean attentionBias = family != Family.MISTRAL && family != Family.QWEN2
                && f.bool("attention_bias", false);
        boolean mlpBias = (family == Family.LLAMA) && f.bool("mlp_bias", false);
        return new ModelConfig(architecture, modelType,
                f.integer("vocab_size", family.vocab), hidden, f.integer("intermediate_size", family.intermediate),
                layers, heads, kvHeads, headDim,
                f.number("rms_norm_eps", family.rmsNormEps), rope.theta, rope.scaling, maxPos,
                window == null ? 0 : window,
                f.bool("tie_word_embeddings", family.tied),
                attentionBias, mlpBias,
                f.optionalInteger("bos_token_id") == null ? -1 : f.optionalInteger("bos_token_id"),
                eosIds(root.get("eos_token_id")),
                dtype(root), design);
    }

    /** The window of the sliding layers, or null. Qwen's counts only with {@code use_sliding_window}. */
    private static Integer slidingWindow(Fields f, JsonNode root, Family family) {
        return switch (family) {
            case LLAMA -> null;
            case MISTRAL -> root.has("sliding_window") ? f.optionalInteger("sliding_window") : Integer.valueOf(4096);
            case QWEN2, QWEN3 -> f.bool("use_sliding_window", false)
                    ? (root.has("sliding_window") ? f.optionalInteger("sliding_window") : Integer.valueOf(4096)) : null;
            case GEMMA3 -> root.has("sliding_window") ? f.optionalInteger("sliding_window") : Integer.valueOf(4096);
        };
    }

    /**
     * Which layers slide: {@code layer_types} when given (transformers 5 writes it), else Qwen's
     * {@code max_window_layers} (layers from that index on slide) or Gemma 3's {@code sliding_window_pattern} (every
     * pattern-th layer is global), as transformers derives them.
     */
    private static List<Boolean> slidingLayers(JsonNode root, Fields f, Family family, int layers, Integer window) {
        List<Boolean> sliding = new ArrayList<>();
        JsonNode types = root.get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray()) {
                throw new ModelConfigException("layer_types must be a list, got " + types);
            }
            for (JsonNode t : types) {
                switch (t.asText()) {
                    case "sliding_attention" -> sliding.add(window != null);
                    case "full_attention" -> sliding.add(false);
                    default -> throw new ModelConfigException("layer_types entry " + t + " is not supported "
                            + "(sliding_attention, full_attention)");
                }
            }
            return sliding;
        }
        if (family == Family.GEMMA3) {
            int pattern = f.integer("sliding_window_pattern", 6);
            if (pattern <= 0) {
                throw new ModelConfigException("sliding_window_pattern must be positive, got " + pattern);
            }
            for (int i = 0; i < layers; i++) {
                sliding.add((i + 1) % pattern != 0);
            }
        } else {
            int from = f.integer("max_window_layers", 28);
            for (int i = 0; i < layers; i++) {
                sliding.add(window != null && i >= from);
            }
        }
        return sliding;
    }

    /** What each supported family calls itself, and transformers' defaults for the fields a config may omit. */
    private enum Family {
        LLAMA("LlamaForCausalLM", "llama", 32000, 4096, 11008, 32, 32, 0, 0, 2048, 1e-6, false, 10000),
        MISTRAL("MistralForCausalLM", "mistral", 32000, 4096, 14336, 32, 32, 8, 0, 4096 * 32, 1e-6, false, 10000),
        QWEN2("Qwen2ForCausalLM", "qwen2", 151936, 4096, 22016, 32, 32, 0, 0, 32768, 1e-6, false, 10000),
        QWEN3("Qwen3ForCausalLM", "qwen3", 151936, 4096, 22016, 32, 32, 0, 128, 32768, 1e-6, false, 10000),
        GEMMA3("Gemma3ForCausalLM", "gemma3_text", 262208, 2304, 9216, 26, 8, 4, 256, 131072, 1e-6, true, 1e6);

        final String architecture, modelType;
        final int vocab, hidden, intermediate, layers, heads, kvHeads, headDim, maxPositions;
        final double rmsNormEps;
        final boolean tied;
        final double ropeTheta;

        Family(String architecture, String modelType, int vocab, int hidden, int intermediate, int layers, int heads,
               int kvHeads, int headDim, int maxPositions, double rmsNormEps, boolean tied, double ropeTheta) {
            this.architecture = architecture;
            this.modelType = modelType;
            this.vocab = vocab;
            this.hidden = hidden;
            this.intermediate = intermediate;
            this.layers = layers;
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.headDim = headDim;
            this.maxPositions = maxPositions;
            this.rmsNormEps = rmsNormEps;
            this.tied = tied;
            this.ropeTheta = ropeTheta;
        }

        static Family ofArchitecture(String architecture) {
            for (Family f : values()) {
                if (f.architecture.equals(architecture)) {
                    return f;
                }
            }
            throw new AssertionError(architecture);
        }

        boolean llamaLike() {
            return this == LLAMA || this == MISTRAL;
        }

        static Family ofModelType(String modelType) {
            for (Family f : values()) {
                if (f.modelType.equals(modelType)) {
                    return f;
                }
            }
            return null;
        }
    }

    /**
     * The RoPE of the global layers (base and scaling) and Gemma 3's local base. transformers 4 writes
     * {@code rope_theta}, {@code rope_scaling} and {@code rope_local_base_freq}; transformers 5 writes
     * {@code rope_parameters}, for Gemma 3 one entry per layer type.
     */
    private record Rope(double theta, RopeScaling scaling, double localTheta) {
        static Rope parse(JsonNode root, Fields f, Family family) {
            JsonNode params = root.get("rope_parameters");
            JsonNode local = null;
            if (params != null && params.isObject() && params.has("full_attention")) {
                local = params.get("sliding_attention");
                params = params.get("full_attention");
            }
            JsonNode node = params != null && !params.isNull() ? params : root.get("rope_scaling");
            double theta = root.has("rope_theta") && !root.get("rope_theta").isNull()
                    ? f.number("rope_theta", family.ropeTheta) : family.ropeTheta;
            if (node != null && node.has("rope_theta")) {
                theta = new Fields(node, "rope parameters").number("rope_theta", theta);
            }
            double localTheta = 0;
            if (family == Family.GEMMA3) {
                localTheta = f.number("rope_local_base_freq", 10000);
                if (local != null && !local.isNull()) {
                    Fields lf = new Fields(local, "rope parameters of sliding_attention");
                    String type = lf.string("rope_type", "default");
                    if (!type.equals("default")) {
                        throw new ModelConfigException("rope_type \"" + type + "\" of the sliding layers is not "
                                + "supported (default)");
                    }
                    localTheta = lf.number("rope_theta", localTheta);
                }
            }
            return new Rope(theta, ropeScaling(node), localTheta);
        }
    }

    private static String architecture(JsonNode root, String source) {
        JsonNode archs = root.get("architectures");
        if (archs == null || archs.isNull()) {
            JsonNode type = root.get("model_type");
            if (type == null || !type.isTextual()) {
                throw new ModelConfigException(source + ": neither \"architectures\" nor \"model_type\" is given");
            }
            Family family = Family.ofModelType(type.asText());
            if (family == null) {
                throw new ModelConfigException(source + ": model_type \"" + type.asText() + "\" is not supported "
                        + "(supported: " + SUPPORTED_TYPES + ")" + visionHint(type.asText()));
            }
            return family.architecture;
        }
        List<String> names = new ArrayList<>();
        for (JsonNode a : archs) {
            names.add(a.asText());
            if (SUPPORTED.contains(a.asText())) {
                return a.asText();
            }
        }
        throw new ModelConfigException(source + ": architecture " + String.join(", ", names)
                + " is not supported (supported: " + String.join(", ", SUPPORTED) + ")"
                + visionHint(String.join(",", names)));
    }

    /** Gemma 3 from 4B up ships with its vision tower; only the text-only checkpoints load here. */
    private static String visionHint(String what) {
        return what.contains("Gemma3ForConditionalGeneration") || what.equals("gemma3")
                ? ": Gemma 3 with its vision tower is not supported; use a text-only Gemma 3 (Gemma3ForCausalLM)"
                : "";
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
        } else if (!c.llamaLayers()) {
            throw new IllegalArgumentException("a " + c.modelType() + " config.json is written from the base model's "
                    + "own config.json, and none was given");
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

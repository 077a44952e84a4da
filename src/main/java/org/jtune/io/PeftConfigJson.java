package org.jtune.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes {@code adapter_config.json}. Reading is tolerant as PEFT's: missing keys take defaults,
 * unknown keys are kept aside; only {@code peft_type} is required. Writing produces what PEFT 0.21 writes:
 * its full key set, sorted, indented by 2, with {@code inference_mode} true.
 */
public final class PeftConfigJson {
    /** The adapter configuration's file name. */
    public static final String FILE_NAME = "adapter_config.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** PEFT 0.21's keys that {@link PeftAdapterConfig} does not model, with the values PEFT writes by default. */
    private static final Map<String, JsonNode> UNMODELED_DEFAULTS = unmodeledDefaults();

    private PeftConfigJson() {}

    private static Map<String, JsonNode> unmodeledDefaults() {
        Map<String, JsonNode> defaults = new LinkedHashMap<>();
        for (String key : List.of("alora_invocation_tokens", "arrow_config", "auto_mapping", "corda_config",
                "eva_config", "kasa_config", "layer_replication", "lora_ga_config", "megatron_config",
                "monteclora_config", "revision", "target_parameters", "trainable_token_indices", "use_bdlora",
                "velora_config")) {
            defaults.put(key, NODES.nullNode());
        }
        defaults.put("ensure_weight_tying", NODES.booleanNode(false));
        defaults.put("inference_mode", NODES.booleanNode(true));
        defaults.put("loftq_config", NODES.objectNode());
        defaults.put("megatron_core", NODES.textNode("megatron.core"));
        defaults.put("peft_version", NODES.textNode("0.21.0"));
        defaults.put("qalora_group_size", NODES.numberNode(16));
        defaults.put("use_qalora", NODES.booleanNode(false));
        return Map.copyOf(defaults);
    }

    /** Reads {@code file}; malformed values and unsupported features raise {@link PeftConfigException}. */
    public static PeftAdapterConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new PeftConfigException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new PeftConfigException(file, "must hold a JSON object");
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new PeftConfigException(file, e.getMessage(), e);
        }
    }

    private static PeftAdapterConfig parse(JsonNode root) {
        if (!root.hasNonNull("peft_type")) {
            throw new IllegalArgumentException("has no \"peft_type\" (the one key PEFT requires)");
        }
        PeftAdapterConfig.Builder builder = PeftAdapterConfig.builder();
        Map<String, JsonNode> other = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            JsonNode value = field.getValue();
            switch (key) {
                case "peft_type" -> builder.peftType(text(key, value));
                case "task_type" -> builder.taskType(optionalText(key, value));
                case "base_model_name_or_path" -> builder.baseModelNameOrPath(optionalText(key, value));
                case "r" -> builder.r(integer(key, value));
                case "lora_alpha" -> builder.loraAlpha(number(key, value));
                case "lora_dropout" -> builder.loraDropout(number(key, value));
                case "use_rslora" -> builder.useRslora(bool(key, value));
                case "target_modules" -> builder.targetModules(selector(key, value));
                case "exclude_modules" -> builder.excludeModules(selector(key, value));
                case "rank_pattern" -> builder.rankPattern(rankPattern(key, value));
                case "alpha_pattern" -> builder.alphaPattern(alphaPattern(key, value));
                case "layers_to_transform" -> builder.layersToTransform(layers(key, value));
                case "layers_pattern" -> builder.layersPattern(textOrTexts(key, value));
                case "fan_in_fan_out" -> builder.fanInFanOut(bool(key, value));
                case "bias" -> builder.bias(text(key, value));
                case "use_dora" -> builder.useDora(bool(key, value));
                case "lora_bias" -> builder.loraBias(bool(key, value));
                case "modules_to_save" -> builder.modulesToSave(value.isNull() ? null : texts(key, value));
                case "init_lora_weights" -> builder.initLoraWeights(init(value));
                default -> other.put(key, value);
            }
        }
        return builder.otherKeys(other).build();
    }

    /** The JSON text PEFT 0.21 would write for {@code config} ({@code json.dumps(indent=2, sort_keys=True)}). */
    public static String toJson(PeftAdapterConfig config) {
        ObjectNode root = NODES.objectNode();
        UNMODELED_DEFAULTS.forEach(root::set);
        config.otherKeys().forEach((key, value) -> {
            if (UNMODELED_DEFAULTS.containsKey(key)) { // keys PEFT does not know are dropped, as PEFT does
                root.set(key, value);
            }
        });
        root.put("inference_mode", true);
        root.put("peft_type", config.peftType());
        root.put("task_type", config.taskType());
        root.put("base_model_name_or_path", config.baseModelNameOrPath());
        root.put("r", config.r());
        root.set("lora_alpha", numberNode(config.loraAlpha()));
        root.put("lora_dropout", config.loraDropout());
        root.put("use_rslora", config.useRslora());
        root.set("target_modules", selectorNode(config.targetModules()));
        root.set("exclude_modules", selectorNode(config.excludeModules()));
        ObjectNode rankPattern = root.putObject("rank_pattern");
        config.rankPattern().forEach(rankPattern::put);
        ObjectNode alphaPattern = root.putObject("alpha_pattern");
        config.alphaPattern().forEach((key, alpha) -> alphaPattern.set(key, numberNode(alpha)));
        root.set("layers_to_transform", listNode(config.layersToTransform()));
        root.set("layers_pattern", listNode(config.layersPattern()));
        root.put("fan_in_fan_out", config.fanInFanOut());
        root.put("bias", config.bias());
        root.put("use_dora", config.useDora());
        root.put("lora_bias", config.loraBias());
        root.set("modules_to_save", listNode(config.modulesToSave()));
        root.set("init_lora_weights", switch (config.initLoraWeights()) {
            case DEFAULT -> NODES.booleanNode(true);
            case GAUSSIAN -> NODES.textNode("gaussian");
            case SKIPPED -> NODES.booleanNode(false);
        });
        return PythonJson.dumpsSorted(root);
    }

    /** Writes {@code config} to {@code file} atomically. */
    public static void write(Path file, PeftAdapterConfig config) throws IOException {
        AtomicFiles.write(file, toJson(config).getBytes(StandardCharsets.UTF_8));
    }

    /** Whole numbers as integers (as PEFT's int defaults appear), others as floats. */
    private static JsonNode numberNode(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15
                ? NODES.numberNode((long) value) : NODES.numberNode(value);
    }

    private static JsonNode selectorNode(ModuleSelector selector) {
        if (selector == null) {
            return NODES.nullNode();
        }
        return selector.isRegex() ? NODES.textNode(selector.regex()) : listNode(selector.names());
    }

    private static JsonNode listNode(List<?> values) {
        if (values == null) {
            return NODES.nullNode();
        }
        ArrayNode array = NODES.arrayNode();
        for (Object value : values) {
            array.add(value instanceof Integer i ? NODES.numberNode(i) : NODES.textNode((String) value));
        }
        return array;
    }

    private static String text(String key, JsonNode value) {
        if (!value.isTextual()) {
            throw new IllegalArgumentException(key + " must be a string, found " + value);
        }
        return value.textValue();
    }

    private static String optionalText(String key, JsonNode value) {
        return value.isNull() ? null : text(key, value);
    }

    private static int integer(String key, JsonNode value) {
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw new IllegalArgumentException(key + " must be an integer, found " + value);
        }
        return value.intValue();
    }

    private static double number(String key, JsonNode value) {
        if (!value.isNumber()) {
            throw new IllegalArgumentException(key + " must be a number, found " + value);
        }
        return value.doubleValue();
    }

    private static boolean bool(String key, JsonNode value) {
        if (!value.isBoolean()) {
            throw new IllegalArgumentException(key + " must be true or false, found " + value);
        }
        return value.booleanValue();
    }

    private static List<String> texts(String key, JsonNode value) {
        if (!value.isArray()) {
            throw new IllegalArgumentException(key + " must be a list of strings, found " + value);
        }
        List<String> result = new ArrayList<>();
        value.forEach(item -> result.add(text(key, item)));
        return result;
    }

    /** null, a string, or a list of strings (PEFT accepts each of them). */
    private static List<String> textOrTexts(String key, JsonNode value) {
        if (value.isNull()) {
            return null;
        }
        return value.isTextual() ? List.of(value.textValue()) : texts(key, value);
    }

    private static ModuleSelector selector(String key, JsonNode value) {
        if (value.isNull()) {
            return null;
        }
        return value.isTextual() ? ModuleSelector.regex(value.textValue()) : ModuleSelector.names(texts(key, value));
    }

    /** null, one integer, or a list of integers. */
    private static List<Integer> layers(String key, JsonNode value) {
        if (value.isNull()) {
            return null;
        }
        if (!value.isArray()) {
            return List.of(integer(key, value));
        }
        List<Integer> result = new ArrayList<>();
        value.forEach(item -> result.add(integer(key, item)));
        return result;
    }

    private static Map<String, Integer> rankPattern(String key, JsonNode value) {
        Map<String, Integer> result = new LinkedHashMap<>();
        if (!value.isNull()) {
            requireObject(key, value).properties().forEach(e -> result.put(e.getKey(), integer(key, e.getValue())));
        }
        return result;
    }

    private static Map<String, Double> alphaPattern(String key, JsonNode value) {
        Map<String, Double> result = new LinkedHashMap<>();
        if (!value.isNull()) {
            requireObject(key, value).properties().forEach(e -> result.put(e.getKey(), number(key, e.getValue())));
        }
        return result;
    }

    private static JsonNode requireObject(String key, JsonNode value) {
        if (!value.isObject()) {
            throw new IllegalArgumentException(key + " must be an object, found " + value);
        }
        return value;
    }

    private static LoraInit init(JsonNode value) {
        if (value.isBoolean()) {
            return value.booleanValue() ? LoraInit.DEFAULT : LoraInit.SKIPPED;
        }
        if (value.isTextual() && value.textValue().equals("gaussian")) {
            return LoraInit.GAUSSIAN;
        }
        throw new IllegalArgumentException("init_lora_weights=" + value
                + " is not supported (only true, false and \"gaussian\")");
    }
}

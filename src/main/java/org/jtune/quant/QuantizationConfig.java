package org.jtune.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.jtune.tensor.DType;

/**
 * The {@code quantization_config} of an HF bnb-4bit model's config.json (spec §5.3), restricted to
 * what is supported: 4-bit NF4 with uint8 storage. The remaining choices are double quantization,
 * the compute dtype and the modules left unquantized ({@code skipModules}, null when not given).
 */
public record QuantizationConfig(boolean doubleQuant, DType computeDtype, List<String> skipModules) {

    /** Copies the skip list. */
    public QuantizationConfig {
        skipModules = skipModules == null ? null : List.copyOf(skipModules);
    }

    /**
     * Parses the {@code quantization_config} object; where names the file for error messages.
     * Absent fields take transformers' defaults (quant type fp4, which is rejected).
     */
    public static QuantizationConfig parse(JsonNode node, String where) {
        String at = where + ": quantization_config";
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(at + " is missing or not an object");
        }
        String method = string(node, "quant_method", null, at);
        if (!"bitsandbytes".equals(method)) {
            throw new IllegalArgumentException(at + ".quant_method is " + (method == null ? "missing" : "\"" + method + "\"")
                    + ", only \"bitsandbytes\" is supported");
        }
        if (bool(node, "load_in_8bit", bool(node, "_load_in_8bit", false, at), at)) {
            throw new IllegalArgumentException(at + ": load_in_8bit is not supported (only 4-bit)");
        }
        if (!bool(node, "load_in_4bit", bool(node, "_load_in_4bit", false, at), at)) {
            throw new IllegalArgumentException(at + ": load_in_4bit is not true; only 4-bit models are supported");
        }
        String quantType = string(node, "bnb_4bit_quant_type", "fp4", at);
        if (!quantType.equals(QuantState.QUANT_TYPE)) {
            throw new IllegalArgumentException(at + ".bnb_4bit_quant_type \"" + quantType
                    + "\" is not supported (only nf4)");
        }
        String storage = string(node, "bnb_4bit_quant_storage", "uint8", at);
        if (!storage.equals("uint8")) {
            throw new IllegalArgumentException(at + ".bnb_4bit_quant_storage \"" + storage
                    + "\" is not supported (only uint8)");
        }
        boolean doubleQuant = bool(node, "bnb_4bit_use_double_quant", false, at);
        DType computeDtype = TorchDtypeNames.parse(string(node, "bnb_4bit_compute_dtype", "float32", at),
                at + ".bnb_4bit_compute_dtype");
        return new QuantizationConfig(doubleQuant, computeDtype, skipModules(node, at));
    }

    /** The object transformers writes ({@code BitsAndBytesConfig.to_dict}, keys sorted as in config.json). */
    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("_load_in_4bit", true);
        node.put("_load_in_8bit", false);
        node.put("bnb_4bit_compute_dtype", TorchDtypeNames.name(computeDtype));
        node.put("bnb_4bit_quant_storage", "uint8");
        node.put("bnb_4bit_quant_type", QuantState.QUANT_TYPE);
        node.put("bnb_4bit_use_double_quant", doubleQuant);
        node.put("llm_int8_enable_fp32_cpu_offload", false);
        node.put("llm_int8_has_fp16_weight", false);
        if (skipModules == null) {
            node.putNull("llm_int8_skip_modules");
        } else {
            ArrayNode list = node.putArray("llm_int8_skip_modules");
            skipModules.forEach(list::add);
        }
        node.put("llm_int8_threshold", 6.0);
        node.put("load_in_4bit", true);
        node.put("load_in_8bit", false);
        node.put("quant_method", "bitsandbytes");
        return node;
    }

    private static List<String> skipModules(JsonNode node, String at) {
        JsonNode list = node.get("llm_int8_skip_modules");
        if (list == null || list.isNull()) {
            return null;
        }
        if (!list.isArray()) {
            throw new IllegalArgumentException(at + ".llm_int8_skip_modules is not a list");
        }
        List<String> modules = new ArrayList<>();
        for (JsonNode m : list) {
            if (!m.isTextual()) {
                throw new IllegalArgumentException(at + ".llm_int8_skip_modules has a non-string entry " + m);
            }
            modules.add(m.textValue());
        }
        return modules;
    }

    private static String string(JsonNode node, String key, String fallback, String at) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isTextual()) {
            throw new IllegalArgumentException(at + "." + key + " is not a string: " + value);
        }
        return value.textValue();
    }

    private static boolean bool(JsonNode node, String key, boolean fallback, String at) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw new IllegalArgumentException(at + "." + key + " is not a boolean: " + value);
        }
        return value.booleanValue();
    }
}

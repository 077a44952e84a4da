package org.jtune.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;

class QuantizationConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The quantization_config transformers writes (spec §5.3), as text. */
    private static final String SPEC_EXAMPLE = "{\"_load_in_4bit\":true,\"_load_in_8bit\":false,"
            + "\"bnb_4bit_compute_dtype\":\"bfloat16\",\"bnb_4bit_quant_storage\":\"uint8\","
            + "\"bnb_4bit_quant_type\":\"nf4\",\"bnb_4bit_use_double_quant\":true,"
            + "\"llm_int8_enable_fp32_cpu_offload\":false,\"llm_int8_has_fp16_weight\":false,"
            + "\"llm_int8_skip_modules\":null,\"llm_int8_threshold\":6.0,"
            + "\"load_in_4bit\":true,\"load_in_8bit\":false,\"quant_method\":\"bitsandbytes\"}";

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void parsesAndWritesTheSpecExample() throws Exception {
        QuantizationConfig config = QuantizationConfig.parse(json(SPEC_EXAMPLE), "config.json");
        assertTrue(config.doubleQuant());
        assertEquals(DType.BF16, config.computeDtype());
        assertNull(config.skipModules());
        assertEquals(SPEC_EXAMPLE, JSON.writeValueAsString(config.toJson()));
    }

    @Test
    void oldFilesWithoutOptionalKeysAndWithSkipModules() throws Exception {
        QuantizationConfig config = QuantizationConfig.parse(json("{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true,"
                + " \"bnb_4bit_quant_type\": \"nf4\", \"bnb_4bit_compute_dtype\": \"float16\","
                + " \"llm_int8_skip_modules\": [\"lm_head\", \"mlp.down_proj\"]}"), "config.json");
        assertEquals(DType.F16, config.computeDtype());
        assertEquals(false, config.doubleQuant());
        assertEquals(List.of("lm_head", "mlp.down_proj"), config.skipModules());
        assertEquals("[\"lm_head\",\"mlp.down_proj\"]", config.toJson().get("llm_int8_skip_modules").toString());
    }

    @Test
    void unsupportedConfigurationsAreRejected() {
        String[][] cases = {
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true}", "fp4"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"fp4\"}", "fp4"},
            {"{\"quant_method\": \"gptq\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\"}", "gptq"},
            {"{\"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\"}", "quant_method"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true}", "load_in_8bit"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": false, \"bnb_4bit_quant_type\": \"nf4\"}", "load_in_4bit"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": \"yes\", \"bnb_4bit_quant_type\": \"nf4\"}", "not a boolean"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\", \"bnb_4bit_quant_storage\": \"bfloat16\"}", "quant_storage"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\", \"bnb_4bit_compute_dtype\": \"int8\"}", "int8"},
            {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"nf4\", \"llm_int8_skip_modules\": \"lm_head\"}", "skip_modules"},
            {"[]", "not an object"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QuantizationConfig.parse(json(c[0]), "models/x/config.json"), c[0]);
            assertTrue(e.getMessage().contains("models/x/config.json") && e.getMessage().contains(c[1]),
                    c[0] + " -> " + e.getMessage());
        }
    }
}

package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** adapter_config.json: PEFT defaults, tolerant reading, unsupported features, matching rules, exact output. */
class PeftAdapterConfigTest {
    @TempDir
    Path folder;

    private PeftAdapterConfig read(String json) throws IOException {
        Path file = folder.resolve("adapter_config.json");
        Files.writeString(file, json);
        return PeftConfigJson.read(file);
    }

    private String failure(String json) {
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> read(json), json);
        assertTrue(e.getMessage().contains(folder.resolve("adapter_config.json").toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingKeysTakePeftDefaults() throws IOException {
        PeftAdapterConfig config = read("{\"peft_type\":\"LORA\"}");
        assertEquals(8, config.r());
        assertEquals(8.0, config.loraAlpha());
        assertEquals(0.0, config.loraDropout());
        assertEquals("none", config.bias());
        assertEquals(LoraInit.DEFAULT, config.initLoraWeights());
        assertFalse(config.useRslora() || config.useDora() || config.fanInFanOut() || config.loraBias());
        assertNull(config.targetModules());
        assertNull(config.taskType());
        assertTrue(config.rankPattern().isEmpty() && config.alphaPattern().isEmpty());
    }

    @Test
    void measuredMinimalConfigGivesScalingTwo() throws IOException {
        // The minimal config PEFT 0.21 loaded without warnings; r=4, alpha=8 -> scaling 2.0.
        PeftAdapterConfig config = read("{\"peft_type\":\"LORA\",\"task_type\":\"CAUSAL_LM\",\"r\":4,"
                + "\"lora_alpha\":8,\"target_modules\":[\"q_proj\",\"k_proj\"]}");
        assertEquals(2.0, config.scaling("model.layers.0.self_attn.q_proj"));
        assertEquals(4.0, config.toBuilder().useRslora(true).build().scaling("model.layers.0.self_attn.q_proj"));
        assertEquals(List.of("q_proj", "k_proj"), config.targetModules().names());
        assertEquals("CAUSAL_LM", config.taskType());
    }

    @Test
    void unknownKeysAreKeptButOnlyPeftKeysAreWritten() throws IOException {
        PeftAdapterConfig config = read("{\"peft_type\":\"LORA\",\"my_key\":[1,2],\"revision\":\"v2\","
                + "\"inference_mode\":false}");
        assertEquals(List.of("my_key", "revision", "inference_mode"), new ArrayList<>(config.otherKeys().keySet()));
        var written = new ObjectMapper().readTree(PeftConfigJson.toJson(config));
        assertEquals("v2", written.get("revision").textValue());
        assertFalse(written.has("my_key"));
        assertTrue(written.get("inference_mode").booleanValue());
    }

    @Test
    void malformedConfigs() {
        assertTrue(failure("{\"r\":8}").contains("peft_type"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"r\":\"8\"}").contains("r must be an integer"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"r\":8.5}").contains("r must be an integer"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"r\":0}").contains("positive"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"target_modules\":[1]}").contains("target_modules"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"rank_pattern\":[]}").contains("rank_pattern"));
        assertTrue(failure("[]").contains("object"));
        assertTrue(failure("{\"peft_type\":\"LORA\",").contains("JSON"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"r\":4,\"r\":8}").contains("JSON"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"target_modules\":\".*q_proj\",\"layers_to_transform\":[0]}")
                .contains("layers_to_transform"));
        assertTrue(failure("{\"peft_type\":\"LORA\",\"layers_pattern\":\"layers\"}").contains("layers_pattern"));
    }

    @Test
    void featuresThatChangeTheMathAreRefused() {
        List<String> unsupported = List.of("\"use_dora\":true", "\"lora_bias\":true", "\"fan_in_fan_out\":true",
                "\"bias\":\"all\"", "\"bias\":\"lora_only\"", "\"modules_to_save\":[\"lm_head\"]",
                "\"init_lora_weights\":\"pissa\"", "\"init_lora_weights\":\"loftq\"", "\"layer_replication\":[[0,4]]",
                "\"use_qalora\":true", "\"alora_invocation_tokens\":[5,6]", "\"target_parameters\":[\"w\"]",
                "\"trainable_token_indices\":[1]", "\"megatron_config\":{\"a\":1}");
        for (String setting : unsupported) {
            String message = failure("{\"peft_type\":\"LORA\"," + setting + "}");
            assertTrue(message.contains("not supported"), setting + ": " + message);
        }
        assertTrue(failure("{\"peft_type\":\"IA3\"}").contains("not supported"));
    }

    @Test
    void inactiveValuesOfUnsupportedKeysAreAccepted() throws IOException {
        PeftAdapterConfig config = read("{\"peft_type\":\"LORA\",\"use_dora\":false,\"use_qalora\":false,"
                + "\"layer_replication\":null,\"modules_to_save\":null,\"loftq_config\":{},\"bias\":\"none\","
                + "\"init_lora_weights\":\"gaussian\",\"megatron_config\":null}");
        assertEquals(LoraInit.GAUSSIAN, config.initLoraWeights());
    }

    @Test
    void listTargetsMatchWholeNameOrDottedSuffix() {
        PeftAdapterConfig config = PeftAdapterConfig.builder().targetModules("q_proj", "self_attn.v_proj").build();
        assertTrue(config.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(config.targets("q_proj"));
        assertTrue(config.targets("model.layers.3.self_attn.v_proj"));
        assertFalse(config.targets("model.layers.0.self_attn.k_proj"));
        assertFalse(config.targets("model.layers.0.self_attn.xq_proj"), "suffix must follow a dot");
        assertFalse(config.targets("model.layers.0.self_attn.q_proj.base_layer"));
        assertFalse(config.targets("model.layers.0.mlp.v_proj"), "self_attn.v_proj needs both segments");
    }

    @Test
    void stringTargetIsRegexFullMatch() {
        PeftAdapterConfig config = PeftAdapterConfig.builder()
                .targetModules(ModuleSelector.regex(".*\\.(q|v)_proj")).build();
        assertTrue(config.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(config.targets("model.layers.12.self_attn.v_proj"));
        assertFalse(config.targets("model.layers.0.self_attn.q_proj_extra"), "full match, not search");
        assertFalse(config.targets("q_proj"), "the regex needs a dot before the name");
        PeftAdapterConfig plainName = PeftAdapterConfig.builder().targetModules(ModuleSelector.regex("q_proj")).build();
        assertFalse(plainName.targets("model.layers.0.self_attn.q_proj"), "a string target is not a suffix");
    }

    @Test
    void excludeModulesWinOverTargets() {
        PeftAdapterConfig byName = PeftAdapterConfig.builder().targetModules("q_proj")
                .excludeModules(ModuleSelector.names(List.of("layers.1.self_attn.q_proj"))).build();
        assertTrue(byName.targets("model.layers.0.self_attn.q_proj"));
        assertFalse(byName.targets("model.layers.1.self_attn.q_proj"));
        PeftAdapterConfig byRegex = PeftAdapterConfig.builder().targetModules("q_proj")
                .excludeModules(ModuleSelector.regex(".*layers\\.[0-4]\\..*")).build();
        assertFalse(byRegex.targets("model.layers.4.self_attn.q_proj"));
        assertTrue(byRegex.targets("model.layers.5.self_attn.q_proj"));
    }

    @Test
    void layersToTransformFilterSuffixMatchesByFirstLayerIndex() throws IOException {
        PeftAdapterConfig config = PeftAdapterConfig.builder().targetModules("q_proj", "up_proj")
                .layersToTransform(List.of(0, 2)).build();
        assertTrue(config.targets("model.layers.0.self_attn.q_proj"));
        assertFalse(config.targets("model.layers.1.self_attn.q_proj"));
        assertTrue(config.targets("model.layers.2.self_attn.q_proj"));
        assertTrue(config.targets("q_proj"), "a path equal to a listed name skips the layer filter, as in PEFT");
        assertFalse(config.targets("self_attn.q_proj"), "a suffix match with no layer index fails the filter");
        // The first numbered segment is the layer, not a nested (expert) index.
        assertTrue(config.targets("model.layers.2.mlp.experts.1.up_proj"));
        assertFalse(config.targets("model.layers.1.mlp.experts.2.up_proj"));

        PeftAdapterConfig withPattern = read("{\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\"],"
                + "\"layers_to_transform\":1,\"layers_pattern\":\"layers\"}");
        assertTrue(withPattern.targets("model.layers.1.self_attn.q_proj"));
        assertFalse(withPattern.targets("model.layers.0.self_attn.q_proj"));
        PeftAdapterConfig otherPattern = withPattern.toBuilder().layersPattern(List.of("h")).build();
        assertFalse(otherPattern.targets("model.layers.1.self_attn.q_proj"), "no .h.<n>. segment");

        // A target naming the full path is matched before (and without) the layer filter, as in PEFT.
        PeftAdapterConfig fullPath = PeftAdapterConfig.builder().targetModules("model.layers.1.self_attn.q_proj")
                .layersToTransform(List.of(0)).build();
        assertTrue(fullPath.targets("model.layers.1.self_attn.q_proj"));
    }

    @Test
    void rankAndAlphaPatternsTakeTheFirstMatchingKeyInOrder() {
        Map<String, Integer> suffixFirst = new LinkedHashMap<>();
        suffixFirst.put("q_proj", 16);
        suffixFirst.put("layers.0.self_attn.q_proj", 4);
        PeftAdapterConfig a = PeftAdapterConfig.builder().r(8).rankPattern(suffixFirst).build();
        assertEquals(16, a.rank("model.layers.0.self_attn.q_proj"));
        assertEquals(16, a.rank("model.layers.1.self_attn.q_proj"));
        assertEquals(8, a.rank("model.layers.0.self_attn.k_proj"));

        Map<String, Integer> specificFirst = new LinkedHashMap<>();
        specificFirst.put("layers.0.self_attn.q_proj", 4);
        specificFirst.put("q_proj", 16);
        PeftAdapterConfig b = PeftAdapterConfig.builder().r(8).rankPattern(specificFirst).build();
        assertEquals(4, b.rank("model.layers.0.self_attn.q_proj"));
        assertEquals(16, b.rank("model.layers.1.self_attn.q_proj"));

        // Keys are regexes anchored at a dot boundary and at the end: "proj" does not match "q_proj".
        PeftAdapterConfig c = PeftAdapterConfig.builder().r(8)
                .rankPattern(Map.of("proj", 2, "layers\\.[0-3]\\.mlp\\.down_proj", 32)).build();
        assertEquals(8, c.rank("model.layers.0.self_attn.q_proj"));
        assertEquals(32, c.rank("model.layers.3.mlp.down_proj"));
        assertEquals(8, c.rank("model.layers.4.mlp.down_proj"));

        PeftAdapterConfig d = PeftAdapterConfig.builder().r(4).loraAlpha(8).alphaPattern(Map.of("v_proj", 2.0))
                .rankPattern(Map.of("v_proj", 2)).build();
        assertEquals(2.0, d.alpha("model.layers.0.self_attn.v_proj"));
        assertEquals(1.0, d.scaling("model.layers.0.self_attn.v_proj"));
        assertEquals(2.0, d.scaling("model.layers.0.self_attn.q_proj"));
    }

    @Test
    void unresolvedTargetsMustBeResolvedFirst() {
        PeftAdapterConfig unset = PeftAdapterConfig.builder().build();
        assertThrows(IllegalStateException.class, () -> unset.targets("model.layers.0.self_attn.q_proj"));
        PeftAdapterConfig allLinear = PeftAdapterConfig.builder()
                .targetModules(ModuleSelector.regex("all-linear")).build();
        assertTrue(allLinear.targetModules().isAllLinear());
        assertThrows(IllegalStateException.class, () -> allLinear.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(allLinear.toBuilder().targetModules("q_proj", "o_proj").build().targets("model.layers.0.self_attn.o_proj"));
    }

    /** Hand-written from the format description: PEFT 0.21's full key set, sorted, indent 2, no final newline. */
    private static final String EXPECTED_JSON = """
            {
              "alora_invocation_tokens": null,
              "alpha_pattern": {},
              "arrow_config": null,
              "auto_mapping": null,
              "base_model_name_or_path": "meta-llama/Llama-2-7b-hf",
              "bias": "none",
              "corda_config": null,
              "ensure_weight_tying": false,
              "eva_config": null,
              "exclude_modules": null,
              "fan_in_fan_out": false,
              "inference_mode": true,
              "init_lora_weights": true,
              "kasa_config": null,
              "layer_replication": null,
              "layers_pattern": null,
              "layers_to_transform": null,
              "loftq_config": {},
              "lora_alpha": 32,
              "lora_bias": false,
              "lora_dropout": 0.05,
              "lora_ga_config": null,
              "megatron_config": null,
              "megatron_core": "megatron.core",
              "modules_to_save": null,
              "monteclora_config": null,
              "peft_type": "LORA",
              "peft_version": "0.21.0",
              "qalora_group_size": 16,
              "r": 16,
              "rank_pattern": {
                "down_proj": 8
              },
              "revision": null,
              "target_modules": [
                "q_proj",
                "v_proj"
              ],
              "target_parameters": null,
              "task_type": "CAUSAL_LM",
              "trainable_token_indices": null,
              "use_bdlora": null,
              "use_dora": false,
              "use_qalora": false,
              "use_rslora": false,
              "velora_config": null
            }""";

    @Test
    void writesPeftFullKeySetSortedIndentTwo() throws IOException {
        PeftAdapterConfig config = PeftAdapterConfig.builder().baseModelNameOrPath("meta-llama/Llama-2-7b-hf")
                .taskType("CAUSAL_LM").r(16).loraAlpha(32).loraDropout(0.05).targetModules("q_proj", "v_proj")
                .rankPattern(Map.of("down_proj", 8)).build();
        Path file = folder.resolve("adapter_config.json");
        PeftConfigJson.write(file, config);
        assertEquals(EXPECTED_JSON, Files.readString(file));

        // The key set is exactly the one listed for peft 0.21.
        List<String> specKeys = List.of("alora_invocation_tokens", "alpha_pattern", "arrow_config", "auto_mapping",
                "base_model_name_or_path", "bias", "corda_config", "ensure_weight_tying", "eva_config",
                "exclude_modules", "fan_in_fan_out", "inference_mode", "init_lora_weights", "kasa_config",
                "layer_replication", "layers_pattern", "layers_to_transform", "loftq_config", "lora_alpha",
                "lora_bias", "lora_dropout", "lora_ga_config", "megatron_config", "megatron_core", "modules_to_save",
                "monteclora_config", "peft_type", "peft_version", "qalora_group_size", "r", "rank_pattern",
                "revision", "target_modules", "target_parameters", "task_type", "trainable_token_indices",
                "use_bdlora", "use_dora", "use_qalora", "use_rslora", "velora_config");
        List<String> writtenKeys = new ArrayList<>();
        Iterator<String> names = new ObjectMapper().readTree(Files.readString(file)).fieldNames();
        names.forEachRemaining(writtenKeys::add);
        assertEquals(specKeys, writtenKeys);

        // Reading it back gives the same configuration, and writing that gives the same text.
        PeftAdapterConfig reread = PeftConfigJson.read(file);
        assertEquals(config.targetModules(), reread.targetModules());
        assertEquals(config.rankPattern(), reread.rankPattern());
        assertEquals(0.05, reread.loraDropout());
        assertEquals(EXPECTED_JSON, PeftConfigJson.toJson(reread));
    }
}

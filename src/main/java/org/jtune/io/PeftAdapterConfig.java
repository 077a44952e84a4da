package org.jtune.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter configuration ({@code adapter_config.json}) with PEFT's defaults and module-matching
 * rules. Features that change the LoRA math and are not implemented (DoRA, LoRA bias, fan_in_fan_out,
 * bias training, modules_to_save, ...) are refused at construction with an "is not supported" message.
 *
 * @param targetModules {@code null} when unset (PEFT then uses the architecture's default)
 * @param excludeModules {@code null} when unset
 * @param rankPattern per-module rank overrides, in their JSON order (the first matching key wins)
 * @param alphaPattern per-module alpha overrides, likewise
 * @param layersToTransform layer indices to adapt; {@code null} or empty for all
 * @param layersPattern names of the layer list in module paths (e.g. {@code "layers"}); {@code null} or empty for any
 * @param otherKeys every other key read from the file, kept verbatim but not used
 */
public record PeftAdapterConfig(
        String peftType, String taskType, String baseModelNameOrPath,
        int r, double loraAlpha, double loraDropout, boolean useRslora,
        ModuleSelector targetModules, ModuleSelector excludeModules,
        Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
        List<Integer> layersToTransform, List<String> layersPattern,
        boolean fanInFanOut, String bias, boolean useDora, boolean loraBias,
        List<String> modulesToSave, LoraInit initLoraWeights, Map<String, JsonNode> otherKeys) {

    /**
     * Keys of PEFT 0.21's LoRA config that switch on variants this project does not implement; each must be
     * null, false or empty.
     */
    static final Set<String> UNSUPPORTED_WHEN_SET = Set.of("alora_invocation_tokens", "arrow_config",
            "kasa_config", "layer_replication", "megatron_config", "monteclora_config", "target_parameters",
            "trainable_token_indices", "use_bdlora", "use_qalora", "velora_config");

    /**
     * Far above any alpha in use (PEFT's examples stay under a few hundred); beyond it the LoRA scale
     * overflows the weights it is merged into.
     */
    public static final double MAX_ALPHA = 1e6;

    /** Checks the values and refuses features that are not supported. */
    public PeftAdapterConfig {
        require("LORA".equals(peftType), "peft_type \"" + peftType + "\" is not supported (only LORA)");
        require(r > 0, "r must be positive, got " + r);
        require(Double.isFinite(loraAlpha) && Math.abs(loraAlpha) <= MAX_ALPHA,
                "lora_alpha must be a finite number of magnitude at most " + MAX_ALPHA + ", got " + loraAlpha);
        require(!useDora, "use_dora=true (DoRA) is not supported");
        require(!loraBias, "lora_bias=true is not supported");
        require(!fanInFanOut, "fan_in_fan_out=true is not supported (Llama/Mistral use nn.Linear)");
        require("none".equals(bias), "bias=\"" + bias + "\" is not supported (only \"none\")");
        require(modulesToSave == null || modulesToSave.isEmpty(),
                "modules_to_save " + modulesToSave + " is not supported");
        require(initLoraWeights != null, "init_lora_weights must be set");
        require(loraDropout >= 0 && loraDropout < 1, "lora_dropout must be in [0, 1), got " + loraDropout);
        rankPattern.forEach((key, rank) -> require(rank > 0, "rank_pattern \"" + key + "\" must be positive"));
        alphaPattern.forEach((key, alpha) -> require(alpha != null && Double.isFinite(alpha)
                && Math.abs(alpha) <= MAX_ALPHA, "alpha_pattern \"" + key + "\" must be a finite number of magnitude at most "
                + MAX_ALPHA + ", got " + alpha));
        require(!(targetModules != null && targetModules.isRegex() && layersToTransform != null),
                "layers_to_transform cannot be used when target_modules is a regex (as in PEFT)");
        require(!(targetModules != null && targetModules.isRegex() && layersPattern != null),
                "layers_pattern cannot be used when target_modules is a regex (as in PEFT)");
        require(layersPattern == null || layersPattern.isEmpty() || layersToTransform != null,
                "layers_pattern needs layers_to_transform (as in PEFT)");
        for (Map.Entry<String, JsonNode> entry : otherKeys.entrySet()) {
            require(!UNSUPPORTED_WHEN_SET.contains(entry.getKey()) || isUnset(entry.getValue()),
                    entry.getKey() + "=" + entry.getValue() + " is not supported");
        }
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        otherKeys = Collections.unmodifiableMap(new LinkedHashMap<>(otherKeys));
    }

    /** A builder starting from PEFT's LoRA defaults (r 8, lora_alpha 8, no dropout, task_type unset). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * True if PEFT puts a LoRA adapter on the module at {@code modulePath} (e.g.
     * {@code model.layers.0.self_attn.q_proj}): not excluded, matched by target_modules, and in
     * layers_to_transform if given (which applies only to names matched as a suffix, as in PEFT).
     *
     * @throws IllegalStateException if target_modules is unset or "all-linear": both need the model's layer
     *     names; resolve them first with {@link Builder#targetModules}
     */
    public boolean targets(String modulePath) {
        if (excludeModules != null && excludeModules.matches(modulePath)) {
            return false;
        }
        if (targetModules == null || targetModules.isAllLinear()) {
            throw new IllegalStateException("target_modules is " + (targetModules == null ? "unset" : "\"all-linear\"")
                    + ": resolve it to the model's module names before matching");
        }
        if (targetModules.isRegex() || targetModules.namesExactly(modulePath)) {
            return targetModules.matches(modulePath);
        }
        boolean found = targetModules.matches(modulePath);
        if (found && layersToTransform != null && !layersToTransform.isEmpty()) {
            BigInteger layer = layerIndex(modulePath);
            return layer != null && layersToTransform.stream().anyMatch(i -> BigInteger.valueOf(i).equals(layer));
        }
        return found;
    }

    /** The first {@code .<name>.<digits>.} in the path (name from layers_pattern, or any segment). */
    private BigInteger layerIndex(String modulePath) {
        List<String> segments = layersPattern == null || layersPattern.isEmpty() ? List.of("[^.]*") : layersPattern;
        for (String segment : segments) {
            Matcher matcher = Pattern.compile(".*?\\." + segment + "\\.(\\d+)\\.").matcher(modulePath);
            if (matcher.lookingAt()) {
                return new BigInteger(matcher.group(1));
            }
        }
        return null;
    }

    /** The rank of the module at {@code modulePath}: the first matching rank_pattern key, else r. */
    public int rank(String modulePath) {
        String key = patternKey(rankPattern.keySet(), modulePath);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of the module at {@code modulePath}: the first matching alpha_pattern key, else lora_alpha. */
    public double alpha(String modulePath) {
        String key = patternKey(alphaPattern.keySet(), modulePath);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** LoRA output scale of the module: alpha / r, or alpha / sqrt(r) with use_rslora. */
    public double scaling(String modulePath) {
        int rank = rank(modulePath);
        return alpha(modulePath) / (useRslora ? Math.sqrt(rank) : rank);
    }

    /** PEFT's {@code get_pattern_key}: the first key {@code p} with {@code re.match(r"(.*\.)?(p)$", path)}. */
    private static String patternKey(Set<String> keys, String modulePath) {
        for (String key : keys) {
            if (Pattern.compile("(.*\\.)?(" + key + ")$").matcher(modulePath).lookingAt()) {
                return key;
            }
        }
        return null;
    }

    private static boolean isUnset(JsonNode value) {
        return value.isNull() || (value.isBoolean() && !value.booleanValue())
                || (value.isContainerNode() && value.isEmpty());
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Builds a {@link PeftAdapterConfig}; unset fields keep PEFT's defaults. */
    public static final class Builder {
        private String peftType = "LORA";
        private String taskType;
        private String baseModelNameOrPath;
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout = 0.0;
        private boolean useRslora;
        private ModuleSelector targetModules;
        private ModuleSelector excludeModules;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private boolean fanInFanOut;
        private String bias = "none";
        private boolean useDora;
        private boolean loraBias;
        private List<String> modulesToSave;
        private LoraInit initLoraWeights = LoraInit.DEFAULT;
        private Map<String, JsonNode> otherKeys = Map.of();

        private Builder() {}

        private Builder(PeftAdapterConfig c) {
            peftType = c.peftType;
            taskType = c.taskType;
            baseModelNameOrPath = c.baseModelNameOrPath;
            r = c.r;
            loraAlpha = c.loraAlpha;
            loraDropout = c.loraDropout;
            useRslora = c.useRslora;
            targetModules = c.targetModules;
            excludeModules = c.excludeModules;
            rankPattern = c.rankPattern;
            alphaPattern = c.alphaPattern;
            layersToTransform = c.layersToTransform;
            layersPattern = c.layersPattern;
            fanInFanOut = c.fanInFanOut;
            bias = c.bias;
            useDora = c.useDora;
            loraBias = c.loraBias;
            modulesToSave = c.modulesToSave;
            initLoraWeights = c.initLoraWeights;
            otherKeys = c.otherKeys;
        }

        public Builder peftType(String value) { peftType = value; return this; }
        public Builder taskType(String value) { taskType = value; return this; }
        public Builder baseModelNameOrPath(String value) { baseModelNameOrPath = value; return this; }
        public Builder r(int value) { r = value; return this; }
        public Builder loraAlpha(double value) { loraAlpha = value; return this; }
        public Builder loraDropout(double value) { loraDropout = value; return this; }
        public Builder useRslora(boolean value) { useRslora = value; return this; }
        public Builder targetModules(ModuleSelector value) { targetModules = value; return this; }
        public Builder targetModules(String... names) { targetModules = ModuleSelector.names(List.of(names)); return this; }
        public Builder excludeModules(ModuleSelector value) { excludeModules = value; return this; }
        public Builder rankPattern(Map<String, Integer> value) { rankPattern = value; return this; }
        public Builder alphaPattern(Map<String, Double> value) { alphaPattern = value; return this; }
        public Builder layersToTransform(List<Integer> value) { layersToTransform = value; return this; }
        public Builder layersPattern(List<String> value) { layersPattern = value; return this; }
        public Builder fanInFanOut(boolean value) { fanInFanOut = value; return this; }
        public Builder bias(String value) { bias = value; return this; }
        public Builder useDora(boolean value) { useDora = value; return this; }
        public Builder loraBias(boolean value) { loraBias = value; return this; }
        public Builder modulesToSave(List<String> value) { modulesToSave = value; return this; }
        public Builder initLoraWeights(LoraInit value) { initLoraWeights = value; return this; }
        public Builder otherKeys(Map<String, JsonNode> value) { otherKeys = value; return this; }

        /** The configuration; throws {@link IllegalArgumentException} for invalid or unsupported settings. */
        public PeftAdapterConfig build() {
            return new PeftAdapterConfig(peftType, taskType, baseModelNameOrPath, r, loraAlpha, loraDropout,
                    useRslora, targetModules, excludeModules, rankPattern, alphaPattern, layersToTransform,
                    layersPattern, fanInFanOut, bias, useDora, loraBias, modulesToSave, initLoraWeights, otherKeys);
        }
    }
}

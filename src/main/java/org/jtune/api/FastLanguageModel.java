package org.jtune.api;

import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * unsloth-style entry point: adds LoRA adapters to a base model. Defaults as unsloth's notebooks: r 16, alpha 16,
 * dropout 0, all seven projections, random state 3407, no rsLoRA.
 */
public final class FastLanguageModel {
    /** All seven projections of a Llama/Mistral layer. */
    public static final List<String> ALL_PROJECTIONS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");

    private FastLanguageModel() {}

    /** {@link #getPeftModel(LanguageModel, int, List, double, double, long, boolean)} with unsloth's defaults. */
    public static PeftModel getPeftModel(LanguageModel model) {
        return getPeftModel(model, 16, ALL_PROJECTIONS, 16, 0, 3407, false);
    }

    /**
     * New LoRA adapters on {@code targetModules} of every layer, initialised as PEFT does from {@code randomState}.
     *
     * @param loraDropout must be 0: dropout on the LoRA input is not supported
     */
    public static PeftModel getPeftModel(LanguageModel model, int r, List<String> targetModules, double loraAlpha,
                                         double loraDropout, long randomState, boolean useRslora) {
        if (loraDropout != 0) {
            throw new IllegalArgumentException("lora_dropout " + loraDropout + " is not supported (only 0)");
        }
        if (targetModules.isEmpty()) {
            throw new IllegalArgumentException("target_modules is empty");
        }
        Set<LoraTarget> targets = EnumSet.noneOf(LoraTarget.class);
        for (String name : targetModules) {
            targets.add(LoraTarget.fromModuleName(name));
        }
        return PeftModel.create(model, new LoraConfig(r, loraAlpha, useRslora, targets), randomState);
    }
}

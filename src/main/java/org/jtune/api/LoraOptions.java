package org.jtune.api;

import java.util.List;

/**
 * The LoRA adapters {@link FastLanguageModel#getPeftModel(LanguageModel, LoraOptions)} adds, by name rather than by
 * position: {@code LoraOptions.defaults().withR(8).withTargetModules("q_proj", "v_proj")}. The defaults are unsloth's
 * notebooks': r 16, alpha 16, dropout 0, all seven projections, random state 3407, no rsLoRA.
 *
 * @param loraDropout must be 0: dropout on the LoRA input is not supported
 */
public record LoraOptions(int r, List<String> targetModules, double loraAlpha, double loraDropout, long randomState,
                          boolean useRslora) {
    public LoraOptions {
        targetModules = List.copyOf(targetModules);
    }

    public static LoraOptions defaults() {
        return new LoraOptions(16, FastLanguageModel.ALL_PROJECTIONS, 16, 0, 3407, false);
    }

    public LoraOptions withR(int rank) {
        return new LoraOptions(rank, targetModules, loraAlpha, loraDropout, randomState, useRslora);
    }

    public LoraOptions withTargetModules(List<String> modules) {
        return new LoraOptions(r, modules, loraAlpha, loraDropout, randomState, useRslora);
    }

    public LoraOptions withTargetModules(String... modules) {
        return withTargetModules(List.of(modules));
    }

    public LoraOptions withLoraAlpha(double alpha) {
        return new LoraOptions(r, targetModules, alpha, loraDropout, randomState, useRslora);
    }

    public LoraOptions withLoraDropout(double dropout) {
        return new LoraOptions(r, targetModules, loraAlpha, dropout, randomState, useRslora);
    }

    public LoraOptions withRandomState(long seed) {
        return new LoraOptions(r, targetModules, loraAlpha, loraDropout, seed, useRslora);
    }

    public LoraOptions withRslora(boolean rslora) {
        return new LoraOptions(r, targetModules, loraAlpha, loraDropout, randomState, rslora);
    }
}

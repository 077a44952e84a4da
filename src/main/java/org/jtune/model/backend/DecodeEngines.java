package org.jtune.model.backend;

import org.jtune.model.DecodeEngine;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.cpu.CpuDecodeEngine;

/**
 * Where generation runs, decided in this one place. This build has one decode engine, the CPU's; a GPU decode engine
 * is to be chosen here the way training chooses its backend (the first usable GPU, {@code JTUNE_BACKEND} overriding,
 * the CPU where the GPU engine cannot run the model), with the CPU engine as the fallback.
 */
public final class DecodeEngines {
    private DecodeEngines() {}

    /** An opened engine and a line saying where it runs, e.g. "CPU, 16 cores, Vector API 512-bit, ...". */
    public record Opened(DecodeEngine engine, String description) {}

    /**
     * @param lora         adapters applied on the fly; null for the base (or a merged) model
     * @param maxSequences sequences decoded together
     * @param capacity     most tokens per sequence, prompt included
     */
    public static Opened open(ModelConfig config, LlamaWeights weights, LoraAdapters lora, int maxSequences,
                              int capacity) {
        CpuDecodeEngine cpu = new CpuDecodeEngine(config, weights, lora, maxSequences, capacity);
        return new Opened(cpu, cpu.describe());
    }
}

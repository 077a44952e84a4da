package org.jtune.model.backend;

import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.model.DecodeEngine;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.cpu.CpuDecodeEngine;
import org.jtune.model.gpu.GpuDecodeEngine;

/**
 * Where generation runs, decided in this one place. The GPU decode engine has not yet passed its tests on a GPU host,
 * so it runs only when asked for ({@value #OPT_IN}{@code =gpu}), on the GPU training would use ({@link
 * Backend#choose()}); otherwise, and where the GPU engine cannot run the model or its adapters (e.g. a head size its
 * attention kernels do not have), the CPU engine runs, saying why.
 */
public final class DecodeEngines {
    /** The environment variable that turns the GPU decode engine on. */
    public static final String OPT_IN = "JTUNE_DECODE";

    private DecodeEngines() {}

    /** An opened engine and a line saying where it runs, e.g. "CPU, 16 cores, Vector API 512-bit, ...". */
    public record Opened(DecodeEngine engine, String description) {}

    /**
     * @param lora         adapters applied on the fly; null for the base (or a merged) model
     * @param maxSequences sequences decoded together
     * @param capacity     most tokens per sequence, prompt included
     * @throws IllegalStateException if the GPU engine is chosen but its plan does not fit the GPU's free memory (the
     *                               message gives the sizes)
     */
    public static Opened open(ModelConfig config, ModelWeights weights, LoraAdapters lora, int maxSequences,
                              int capacity) {
        Backend backend = Backend.choose();
        String cpuNote = "";
        if (backend.isGpu() && !"gpu".equalsIgnoreCase(System.getenv(OPT_IN))) {
            cpuNote = " (the GPU decode engine runs only with " + OPT_IN + "=gpu until it is validated on GPU hosts)";
        } else if (backend.isGpu()) {
            try {
                GpuDecodeEngine gpu = GpuDecodeEngine.create(Context.primary(Device.get(0)), config, weights, lora,
                        maxSequences, capacity);
                return new Opened(gpu, backend.describe() + ": " + gpu.memoryReport());
            } catch (IllegalArgumentException e) {
                cpuNote = " (the GPU decode engine cannot run this model: " + e.getMessage() + ")";
            }
        }
        CpuDecodeEngine cpu = new CpuDecodeEngine(config, weights, lora, maxSequences, capacity);
        return new Opened(cpu, cpu.describe() + cpuNote);
    }
}

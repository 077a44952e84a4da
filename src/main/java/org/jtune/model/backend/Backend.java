package org.jtune.model.backend;

import org.jtune.cuda.Context;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;
import org.jtune.model.Engine;
import org.jtune.model.EngineSpec;
import org.jtune.model.cpu.CpuEngine;
import org.jtune.model.gpu.GpuEngine;

import java.util.Locale;

/**
 * Where training runs, decided in this one place: the first GPU where one is usable, else the CPU. The environment
 * variable {@value #VARIABLE} ({@code cpu} or {@code cuda}) overrides the choice; asking for cuda without a usable
 * GPU is an error. A model the GPU engine cannot run (e.g. a head size its attention kernels do not have) trains on
 * the CPU, and the engines' {@link Engine.Factory#placement()} says why.
 */
public final class Backend implements Engine.Placement {
    public static final String VARIABLE = "JTUNE_BACKEND";
    /**
     * {@code on} lets the GPU step run the families beyond Llama and Mistral (Qwen2, Qwen3), whose GPU layers have
     * passed their tests only on the CPU side so far; until they have run on a GPU host, those models train on the
     * CPU unless this is set.
     */
    public static final String FAMILIES_OPT_IN = "JTUNE_GPU_FAMILIES";

    private final boolean gpu;
    private final String reason;

    private Backend(boolean gpu, String reason) {
        this.gpu = gpu;
        this.reason = reason;
    }

    /** The choice described above. */
    public static Backend choose() {
        String wanted = System.getenv().getOrDefault(VARIABLE, "").strip().toLowerCase(Locale.ROOT);
        return switch (wanted) {
            case "cpu" -> cpu(VARIABLE + "=cpu");
            case "cuda" -> gpu();
            case "" -> Cuda.status().available() ? new Backend(true, gpuName()) : cpu(Cuda.status().reason());
            default -> throw new IllegalArgumentException(VARIABLE + " must be cpu or cuda, got '" + wanted + "'");
        };
    }

    /** The CPU, for the given reason (e.g. "asked for"). */
    public static Backend cpu(String reason) {
        return new Backend(false, reason);
    }

    /**
     * The first GPU.
     *
     * @throws IllegalStateException if no GPU is usable (the message says why)
     */
    public static Backend gpu() {
        Cuda.requireAvailable();
        return new Backend(true, gpuName());
    }

    private static String gpuName() {
        return "GPU 0, " + Device.get(0).name();
    }

    public boolean isGpu() {
        return gpu;
    }

    /** E.g. "cuda (GPU 0, NVIDIA H200)" or "cpu (JTUNE_BACKEND=cpu)". */
    public String describe() {
        return (gpu ? "cuda" : "cpu") + " (" + reason + ")";
    }

    /**
     * The training engines for {@code spec} on this backend. On the GPU, the model and adapters are checked now,
     * so that one the GPU engine cannot run goes to the CPU; whether the GPU has the memory is known only when an
     * engine opens (it then fails with what would fit).
     */
    @Override
    public Engine.Factory trainingEngines(EngineSpec spec) {
        if (gpu && !spec.config().llamaLayers()
                && !"on".equalsIgnoreCase(System.getenv().getOrDefault(FAMILIES_OPT_IN, ""))) {
            return CpuEngine.factory(spec, "the GPU step runs " + spec.config().modelType() + " only with "
                    + FAMILIES_OPT_IN + "=on until its kernels have been validated on a GPU host");
        }
        if (gpu) {
            try {
                GpuEngine.plan(spec);
                return GpuEngine.factory(Context.primary(Device.get(0)), spec, reason);
            } catch (IllegalArgumentException e) {
                return CpuEngine.factory(spec, "the GPU engine cannot run this model: " + e.getMessage());
            }
        }
        return CpuEngine.factory(spec, reason);
    }
}

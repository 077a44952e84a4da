package org.jtune.api;

import java.util.Locale;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;

/**
 * Which backend training runs on: the first GPU where one is usable, else the CPU. The environment
 * variable JTUNE_BACKEND (cpu or cuda) overrides the choice; asking for cuda without a GPU is an error.
 *
 * @param backend "cpu" or "cuda"
 * @param reason  why, e.g. the GPU's name or why no GPU is usable
 */
public record BackendChoice(String backend, String reason) {

    /** The CPU, for the given reason (e.g. "asked for"). */
    public static BackendChoice cpu(String reason) {
        return new BackendChoice("cpu", reason);
    }

    /** The choice as described above. */
    public static BackendChoice choose() {
        String wanted = System.getenv().getOrDefault("JTUNE_BACKEND", "").strip().toLowerCase(Locale.ROOT);
        Cuda.Status status = Cuda.status();
        switch (wanted) {
            case "cpu":
                return cpu("JTUNE_BACKEND=cpu");
            case "cuda":
                Cuda.requireAvailable();
                return new BackendChoice("cuda", gpuName());
            case "":
                return status.available()
                        ? new BackendChoice("cuda", gpuName())
                        : cpu(status.reason());
            default:
                throw new IllegalArgumentException("JTUNE_BACKEND must be cpu or cuda, got '" + wanted + "'");
        }
    }

    private static String gpuName() {
        Device device = Device.get(0);
        return "GPU 0, " + device.name();
    }

    /** Whether training runs on the GPU. */
    public boolean isCuda() {
        return backend.equals("cuda");
    }

    /** E.g. "cuda (GPU 0, NVIDIA H200)". */
    public String describe() {
        return backend + " (" + reason + ")";
    }
}

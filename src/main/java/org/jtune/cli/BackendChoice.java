package org.jtune.cli;

import java.util.Locale;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;

/**
 * Which backend training runs on: the first GPU where one is usable, else the CPU. The environment
 * variable JTUNE_BACKEND (cpu or cuda) overrides the choice; asking for cuda without a GPU is an error.
 */
record BackendChoice(String backend, String reason) {

    static BackendChoice choose() {
        String wanted = System.getenv().getOrDefault("JTUNE_BACKEND", "").strip().toLowerCase(Locale.ROOT);
        Cuda.Status status = Cuda.status();
        switch (wanted) {
            case "cpu":
                return new BackendChoice("cpu", "JTUNE_BACKEND=cpu");
            case "cuda":
                Cuda.requireAvailable();
                return new BackendChoice("cuda", gpuName());
            case "":
                return status.available()
                        ? new BackendChoice("cuda", gpuName())
                        : new BackendChoice("cpu", status.reason());
            default:
                throw new IllegalArgumentException("JTUNE_BACKEND must be cpu or cuda, got '" + wanted + "'");
        }
    }

    private static String gpuName() {
        Device device = Device.get(0);
        return "GPU 0, " + device.name();
    }

    String describe() {
        return backend + " (" + reason + ")";
    }
}

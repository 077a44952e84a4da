package org.jtune.cli;

import java.io.PrintStream;
import java.util.function.Function;
import org.jtune.api.BackendChoice;

/**
 * Builds a trainer on the chosen backend and says which one it runs on. Where the GPU step cannot run the
 * model (e.g. a head size its attention kernels do not have), it says why and builds it for the CPU instead.
 */
final class TrainerOnBackend {
    private TrainerOnBackend() {}

    static <T> T create(BackendChoice backend, PrintStream out, Function<BackendChoice, T> make) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (backend.isCuda()) {
            try {
                T trainer = make.apply(backend);
                out.println("training on the GPU (" + backend.reason() + ")");
                return trainer;
            } catch (IllegalArgumentException e) {
                out.println("the GPU step cannot run this model (" + e.getMessage() + "): training on the CPU, "
                        + cores + " cores");
                return make.apply(BackendChoice.cpu("the GPU step cannot run this model"));
            }
        }
        out.println("training on the CPU, " + cores + " cores (" + backend.reason() + ")");
        return make.apply(backend);
    }
}

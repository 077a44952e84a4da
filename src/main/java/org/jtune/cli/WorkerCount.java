package org.jtune.cli;

import org.jtune.parallel.WorkerEnvironment;

import java.util.Map;
import java.util.Optional;

/**
 * The workers a training command is asked for: {@code --gpus N} (also spelled {@code --num-processes} and
 * {@code --nproc-per-node}, as accelerate and torchrun name it) on this host, or torchrun's variables when a launcher
 * started this process as one worker of several. Data-parallel training over GPUs sums the gradients with NCCL, whose
 * bindings this build does not have, so more than one worker is refused before anything is loaded, with the reason,
 * rather than run as independent copies writing into the same output folder.
 */
final class WorkerCount {
    private WorkerCount() {}

    /**
     * Returns normally where one worker is asked for.
     *
     * @throws UsageException for more than one, or for a malformed value or variable
     */
    static void requireOne(OptionParser.Parsed p, Map<String, String> env) {
        int gpus = RunOptions.positive(p, "gpus", 1);
        if (gpus > 1) {
            throw new UsageException(p.origin("gpus") + " " + gpus + " asks for " + gpus + " workers, one per GPU: "
                    + NOT_YET + "; train on one GPU (leave out " + p.origin("gpus") + ")");
        }
        Optional<WorkerEnvironment> w;
        try {
            w = WorkerEnvironment.from(env);
        } catch (IllegalArgumentException e) {
            throw new UsageException("the launcher's variables are wrong: " + e.getMessage());
        }
        if (w.isPresent() && w.get().worldSize() > 1) {
            throw new UsageException("this process is worker " + w.get().rank() + " of " + w.get().worldSize()
                    + " (RANK and WORLD_SIZE are set, as torchrun sets them): " + NOT_YET
                    + "; start one process without these variables");
        }
    }

    private static final String NOT_YET = "training on several GPUs is not available yet: the GPU engine does not"
            + " sum its gradients over NCCL yet (data-parallel training runs only as workers on the CPU, through the"
            + " library)";
}

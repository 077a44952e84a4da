package org.jtune.api;

import org.jtune.io.SafetensorsFile;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the GPU resume tests check in checkpoints: the optimizer's step count, and that two runs' AdamW moments agree
 * per tensor within a relative L2 distance. A norm rather than per-element bounds, because single moment elements
 * of noisy gradients can differ by more than their size between two GPU runs (the attention backward sums with
 * atomics); a resume that restarted the moments loses a large share of their weight, far beyond the tolerance.
 */
final class ResumeChecks {
    static final String OPTIMIZER_FILE = "optimizer.safetensors";

    private ResumeChecks() {}

    /** Thrown by a listener to stop a run as if it had been killed. */
    static final class Interruption extends RuntimeException {}

    /** The update count an optimizer file records. */
    static String optimizerStep(Path checkpoint) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve(OPTIMIZER_FILE))) {
            return f.metadata().get("step");
        }
    }

    /** Every moment tensor of both checkpoints, by relative L2 distance (in double); NaN fails. */
    static void compareMoments(Path expected, Path actual, double tolerance, String what) throws IOException {
        try (SafetensorsFile e = SafetensorsFile.open(expected.resolve(OPTIMIZER_FILE));
             SafetensorsFile a = SafetensorsFile.open(actual.resolve(OPTIMIZER_FILE))) {
            assertEquals(e.names().size(), a.names().size(), "moment tensors; " + what);
            assertTrue(e.names().size() > 0, "no moment tensors; " + what);
            for (String name : e.names()) {
                assertTrue(name.endsWith(".exp_avg") || name.endsWith(".exp_avg_sq"), name + "; " + what);
                float[] x = e.readFloats(name), y = a.readFloats(name);
                assertEquals(x.length, y.length, name + "; " + what);
                double diff = 0, norm = 0;
                for (int i = 0; i < x.length; i++) {
                    diff += ((double) y[i] - x[i]) * ((double) y[i] - x[i]);
                    norm += (double) x[i] * x[i];
                }
                double relative = Math.sqrt(diff / norm);
                assertTrue(norm > 0 && relative <= tolerance, name + ": resumed moments at relative L2 " + relative
                        + " from the uninterrupted run's (tolerance " + tolerance + "); " + what);
            }
        }
    }
}

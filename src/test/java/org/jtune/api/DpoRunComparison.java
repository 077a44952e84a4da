package org.jtune.api;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tolerances of one DPO run's logged loss and metrics against another's, where at least one ran on the GPU
 * (bf16 activations, u = 2^-8), as derived in DpoTrainerGpuTest: every log p is allowed u/2 of itself, a reward
 * beta·u/2·(|mean log p| + |mean log p_ref|), a margin and the sigmoid loss the sum of the two rewards' tolerances;
 * all doubled for the drift of runs whose adapters take slightly different updates.
 */
final class DpoRunComparison {
    static final double BETA = 0.1;
    private static final double U = 0x1p-8, LOGP_RTOL = U / 2, DRIFT = 2;

    private DpoRunComparison() {}

    /** One step's or evaluation's loss and metrics of a run against the expected run's. */
    static void assertFollows(String what, double expectedLoss, Map<String, Double> expected, double actualLoss,
                              Map<String, Double> actual) {
        double chosen = rewardTolerance(expected, "chosen"), rejected = rewardTolerance(expected, "rejected");
        String both = what + ": expected loss " + expectedLoss + " " + expected + ", actual loss " + actualLoss + " "
                + actual;
        assertClose("loss; " + both, expectedLoss, actualLoss, chosen + rejected);
        assertClose("rewards/margins; " + both, expected.get("rewards/margins"), actual.get("rewards/margins"),
                chosen + rejected);
        for (String side : List.of("chosen", "rejected")) {
            assertClose("rewards/" + side + "; " + both, expected.get("rewards/" + side),
                    actual.get("rewards/" + side), side.equals("chosen") ? chosen : rejected);
            double logp = expected.get("logps/" + side);
            assertClose("logps/" + side + "; " + both, logp, actual.get("logps/" + side),
                    DRIFT * LOGP_RTOL * Math.abs(logp));
        }
    }

    /** beta · u/2 · (|mean log p| + |mean log p_ref|) of one side, doubled for the drift. */
    private static double rewardTolerance(Map<String, Double> metrics, String side) {
        double policy = metrics.get("logps/" + side), reference = policy - metrics.get("rewards/" + side) / BETA;
        return DRIFT * BETA * LOGP_RTOL * (Math.abs(policy) + Math.abs(reference));
    }

    private static void assertClose(String what, double expected, double actual, double tolerance) {
        // written so that NaN fails
        assertTrue(Math.abs(actual - expected) <= tolerance, what + " (tolerance " + tolerance + ")");
    }
}

package org.jtune.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Schedules against transformers' lambdas transcribed from {@code optimization.py} (Python int/float arithmetic),
 * at every step of several runs, and against values worked out by hand.
 */
class LrScheduleTest {

    /** transformers {@code _get_linear_schedule_with_warmup_lr_lambda}. */
    private static double hfLinear(int current, int warmup, int total) {
        if (current < warmup) {
            return (double) current / (double) Math.max(1, warmup);
        }
        return Math.max(0.0, (double) (total - current) / (double) Math.max(1, total - warmup));
    }

    /** transformers {@code _get_cosine_schedule_with_warmup_lr_lambda}, num_cycles = 0.5. */
    private static double hfCosine(int current, int warmup, int total) {
        if (current < warmup) {
            return (double) current / (double) Math.max(1, warmup);
        }
        double progress = (double) (current - warmup) / (double) Math.max(1, total - warmup);
        return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
    }

    /** transformers {@code _get_constant_schedule_with_warmup_lr_lambda}. */
    private static double hfConstantWithWarmup(int current, int warmup) {
        return current < warmup ? (double) current / Math.max(1.0, warmup) : 1.0;
    }

    @Test
    void matchesTransformersAtEveryStep() {
        int[][] runs = {{0, 1}, {0, 60}, {5, 60}, {3, 100}, {10, 10}, {25, 7}, {1, 2}, {100, 1000}};
        for (int[] run : runs) {
            int warmup = run[0], total = run[1];
            for (int step = 0; step <= total + 2; step++) {
                String where = "warmup " + warmup + ", total " + total + ", step " + step;
                assertEquals(hfLinear(step, warmup, total), LrSchedule.LINEAR.multiplier(step, warmup, total), 0,
                        "linear " + where);
                assertEquals(hfCosine(step, warmup, total), LrSchedule.COSINE.multiplier(step, warmup, total), 0,
                        "cosine " + where);
                assertEquals(hfConstantWithWarmup(step, warmup),
                        LrSchedule.CONSTANT_WITH_WARMUP.multiplier(step, warmup, total), 0, "constant " + where);
                assertEquals(1.0, LrSchedule.CONSTANT.multiplier(step, warmup, total), 0, "constant " + where);
            }
        }
    }

    @Test
    void handWorkedValues() {
        assertEquals(0.0, LrSchedule.LINEAR.multiplier(0, 10, 110));
        assertEquals(0.5, LrSchedule.LINEAR.multiplier(5, 10, 110));
        assertEquals(1.0, LrSchedule.LINEAR.multiplier(10, 10, 110));
        assertEquals(0.5, LrSchedule.LINEAR.multiplier(60, 10, 110));
        assertEquals(0.0, LrSchedule.LINEAR.multiplier(110, 10, 110));
        assertEquals(1.0, LrSchedule.COSINE.multiplier(10, 10, 110));
        assertEquals(0.5, LrSchedule.COSINE.multiplier(60, 10, 110), 1e-15);
        assertEquals((1 + Math.cos(Math.PI / 4)) / 2, LrSchedule.COSINE.multiplier(35, 10, 110), 1e-15);
        assertEquals(0.0, LrSchedule.COSINE.multiplier(110, 10, 110), 1e-15);
        assertEquals(0.25, LrSchedule.CONSTANT_WITH_WARMUP.multiplier(1, 4, 9));
    }

    @Test
    void warmupRatioRoundsUpAndStepsWin() {
        assertEquals(3, LrSchedule.warmupSteps(0, 0.03, 100));
        assertEquals(4, LrSchedule.warmupSteps(0, 0.03, 101));
        assertEquals(0, LrSchedule.warmupSteps(0, 0.0, 100));
        assertEquals(5, LrSchedule.warmupSteps(5, 0.5, 100));
    }

    @Test
    void namesAsInTransformers() {
        assertEquals(LrSchedule.LINEAR, LrSchedule.fromName("linear"));
        assertEquals(LrSchedule.COSINE, LrSchedule.fromName("cosine"));
        assertEquals(LrSchedule.CONSTANT_WITH_WARMUP, LrSchedule.fromName("constant_with_warmup"));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.fromName("polynomial"));
    }
}

package org.jtune.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The builder's warmup: a ratio is honoured, not hidden by the default 5 warmup steps. */
class TrainingArgumentsTest {
    @Test
    void aWarmupRatioReplacesTheDefaultWarmupSteps() {
        TrainingArguments a = TrainingArguments.builder().warmupRatio(0.5).build();
        assertEquals(0, a.warmupSteps());
        assertEquals(0.5, a.warmupRatio());
        assertEquals(5, TrainingArguments.builder().build().warmupSteps(), "unsloth's default stays");
        assertEquals(7, TrainingArguments.builder().warmupSteps(7).build().warmupSteps());
        // the schedule then warms up over half of a 40-step run
        assertEquals(20, LrSchedule.warmupSteps(a.warmupSteps(), a.warmupRatio(), 40));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingArguments.builder().warmupSteps(3).warmupRatio(0.1).build());
        assertTrue(e.getMessage().contains("warmup_steps 3 and warmup_ratio 0.1 both given"), e.getMessage());
        assertEquals(0, TrainingArguments.builder().warmupSteps(0).warmupRatio(0.2).build().warmupSteps());
    }
}

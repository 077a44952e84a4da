package org.jtune.train;

import java.util.Locale;

/**
 * Learning-rate schedules with the multipliers of Hugging Face transformers' {@code optimization.py}
 * ({@code get_constant_schedule}, {@code get_constant_schedule_with_warmup}, {@code get_linear_schedule_with_warmup},
 * {@code get_cosine_schedule_with_warmup} with {@code num_cycles=0.5}). As there (a {@code LambdaLR} stepped after
 * each optimizer step), update number {@code k} (counted from 0) uses {@code lr * multiplier(k)}: with warmup the
 * first update has learning rate 0.
 */
public enum LrSchedule {
    /** {@code get_constant_schedule}: 1 at every step; like transformers, it ignores the warmup. */
    CONSTANT,
    /** {@code step < warmup ? step / max(1, warmup) : 1}. */
    CONSTANT_WITH_WARMUP,
    /** Warmup, then {@code max(0, (total - step) / max(1, total - warmup))}. */
    LINEAR,
    /** Warmup, then {@code max(0, 0.5 * (1 + cos(pi * 2 * 0.5 * progress)))}, progress {@code (step - warmup) / max(1, total - warmup)}. */
    COSINE;

    /** The multiplier of the base learning rate for update {@code step} (from 0) of {@code totalSteps}. */
    public double multiplier(long step, long warmupSteps, long totalSteps) {
        if (this == CONSTANT) {
            return 1.0;
        }
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        return switch (this) {
            case CONSTANT_WITH_WARMUP -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
            case CONSTANT -> throw new AssertionError();
        };
    }

    /**
     * transformers' {@code TrainingArguments.get_warmup_steps}: {@code warmupSteps} if positive, else
     * {@code ceil(totalSteps * warmupRatio)}.
     */
    public static long warmupSteps(long warmupSteps, double warmupRatio, long totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(totalSteps * warmupRatio);
    }

    /** The schedule of a transformers {@code lr_scheduler_type} name ("linear", "cosine", "constant", "constant_with_warmup"). */
    public static LrSchedule fromName(String name) {
        for (LrSchedule s : values()) {
            if (s.hfName().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("lr_scheduler_type \"" + name
                + "\" is not supported (linear, cosine, constant, constant_with_warmup)");
    }

    /** The transformers {@code lr_scheduler_type} name. */
    public String hfName() {
        return name().toLowerCase(Locale.ROOT);
    }
}

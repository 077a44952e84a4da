package org.jtune.model;

import java.util.EnumSet;
import java.util.Set;

/**
 * LoRA hyper-parameters that change the math: rank r, alpha, rsLoRA, and which projections are adapted
 * (the same in every layer).
 */
public record LoraConfig(int rank, double alpha, boolean useRslora, Set<LoraTarget> targets) {
    public LoraConfig {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be a positive number, got " + alpha);
        }
        targets = targets.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(targets));
    }

    /** All seven projections. */
    public static LoraConfig allProjections(int rank, double alpha, boolean useRslora) {
        return new LoraConfig(rank, alpha, useRslora, EnumSet.allOf(LoraTarget.class));
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA, rounded to float as it multiplies float data. */
    public float scaling() {
        return (float) (useRslora ? alpha / Math.sqrt(rank) : alpha / rank);
    }
}

package org.jtune.model;

import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW's state on the host, as checkpoints save it whichever engine trained: the fp32 first and second moments of
 * every LoRA matrix, in the order of {@link LoraAdapters#names()}, and the number of updates done (which the bias
 * correction uses).
 */
public final class OptimizerState {
    private final List<String> names;
    private final List<Tensor> firstMoments = new ArrayList<>();
    private final List<Tensor> secondMoments = new ArrayList<>();
    private long steps;

    /** Zero moments shaped as the matrices of {@code lora}, step 0; the tensors live in {@code arena}. */
    public OptimizerState(LoraAdapters lora, Arena arena) {
        this.names = lora.names();
        for (String name : names) {
            firstMoments.add(Tensor.f32(arena, lora.tensor(name).shape()));
            secondMoments.add(Tensor.f32(arena, lora.tensor(name).shape()));
        }
    }

    /** The PEFT names of the matrices the moments belong to. */
    public List<String> names() {
        return names;
    }

    /** {@code exp_avg} of each matrix; writable. */
    public List<Tensor> firstMoments() {
        return List.copyOf(firstMoments);
    }

    /** {@code exp_avg_sq} of each matrix; writable. */
    public List<Tensor> secondMoments() {
        return List.copyOf(secondMoments);
    }

    /** Updates done (torch's {@code state["step"]}). */
    public long steps() {
        return steps;
    }

    public void setSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + steps);
        }
        this.steps = steps;
    }
}

package org.jtune.model;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;

/**
 * An engine that can be one worker of a data-parallel run: each worker runs its share of a step's micro-batches,
 * then its LoRA gradients, weighted by its share of the step's loss, are summed over the workers, so that every
 * worker's {@link #optimizerStep} clips and applies the gradient one engine would have computed over all the
 * micro-batches. The CPU engine is one; the GPU engine is not yet (its gradients live on the device, which needs a
 * device communicator).
 */
public interface DataParallelEngine extends Engine {

    /**
     * Multiplies the gradients of the last step by {@code weight} (this worker's share of the step's loss: its
     * labelled tokens over all workers' for a token mean) and hands them to {@code sumOverWorkers}: little-endian
     * float32 buffers in host memory, in the order of {@link LoraAdapters#names()}, which it replaces in place with
     * their sum over the workers. The next {@link #optimizerStep} clips and applies what it leaves there.
     */
    void sumGradients(double weight, Consumer<List<MemorySegment>> sumOverWorkers);
}

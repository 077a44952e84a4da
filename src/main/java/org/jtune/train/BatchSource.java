package org.jtune.train;

import org.jtune.model.Batch;

/**
 * Where the trainer takes its micro-batches from, epoch by epoch, with a position that a checkpoint can save and a
 * resumed run restore (so that it sees exactly the batches the interrupted run would have seen). {@code B} is the
 * batch type of the objective: {@link Batch} for SFT, a preference batch for DPO.
 */
public interface BatchSource<B> {

    /** Starts epoch {@code epoch} (from 0) at its first batch; a shuffling source derives its order from the seed. */
    void startEpoch(int epoch, long seed);

    /** The next micro-batch of the current epoch, or null when the epoch has no more. */
    B next();

    /** Micro-batches per epoch, or -1 if unknown (then the run needs a step limit). */
    long batchesPerEpoch();

    /** The current position (epoch and place in it) as text that {@link #restore} accepts; JSON is suggested. */
    String state();

    /** Returns to a position given by {@link #state()}; the next {@link #next()} continues from there. */
    void restore(String state);
}

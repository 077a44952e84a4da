package org.jtune.data;

/**
 * Where an {@link EpochIterator} stands: the next batch is batch {@code batch} of epoch {@code epoch}.
 * The shuffle of every epoch is a pure function of {@code seed} and the epoch number, so these
 * numbers are the whole random state: saving them with a checkpoint and resuming from them gives
 * exactly the batches an uninterrupted run would have seen. {@code units} (rows or examples per
 * epoch) guards against resuming on a different dataset.
 */
public record IterationState(long seed, int epoch, int batch, int units) {
    public IterationState {
        if (epoch < 0 || batch < 0 || units < 0) {
            throw new IllegalArgumentException("epoch, batch and units must be >= 0: " + epoch + ", " + batch + ", " + units);
        }
    }
}

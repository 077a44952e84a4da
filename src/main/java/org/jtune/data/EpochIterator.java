package org.jtune.data;

import java.util.Arrays;
import java.util.function.Function;

/**
 * Batches over epochs: each epoch visits every unit (a packed row, or an example) once, in an order
 * shuffled by the seed and the epoch number (or in dataset order without shuffling), in groups of
 * {@code unitsPerBatch}; the last batch of an epoch may be smaller. It never ends: the caller stops
 * after the steps or epochs it wants. {@link #state()} saved and passed back to the factory that made
 * this iterator resumes at exactly the next batch.
 */
public final class EpochIterator<B> {
    private final int units;
    private final int unitsPerBatch;
    private final boolean shuffle;
    private final long seed;
    private final Function<int[], B> build;
    private int epoch;
    private int batch;
    private int[] order;

    EpochIterator(int units, int unitsPerBatch, boolean shuffle, IterationState start, Function<int[], B> build) {
        if (unitsPerBatch <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + unitsPerBatch);
        }
        if (units == 0) {
            throw new IllegalArgumentException("nothing to iterate over: no rows");
        }
        if (start.units() != units) {
            throw new DatasetException("cannot resume: the saved position is for " + start.units()
                    + " units an epoch, this dataset has " + units + " (was the dataset or the batching changed?)");
        }
        this.units = units;
        this.unitsPerBatch = unitsPerBatch;
        this.shuffle = shuffle;
        this.seed = start.seed();
        this.build = build;
        this.epoch = start.epoch();
        this.batch = start.batch();
        if (batch >= batchesPerEpoch()) {
            throw new DatasetException("cannot resume: batch " + batch + " of an epoch of " + batchesPerEpoch() + " batches");
        }
    }

    public int batchesPerEpoch() {
        return (units + unitsPerBatch - 1) / unitsPerBatch;
    }

    /** The position of the batch {@link #next()} returns next. */
    public IterationState state() {
        return new IterationState(seed, epoch, batch, units);
    }

    public B next() {
        if (order == null) {
            order = shuffle ? Shuffle.permutation(units, seed, epoch) : identity(units);
        }
        int from = batch * unitsPerBatch;
        int[] chosen = Arrays.copyOfRange(order, from, Math.min(units, from + unitsPerBatch));
        if (++batch == batchesPerEpoch()) {
            batch = 0;
            epoch++;
            order = null;
        }
        return build.apply(chosen);
    }

    private static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        return p;
    }
}

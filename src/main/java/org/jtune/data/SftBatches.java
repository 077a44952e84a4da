package org.jtune.data;

import java.util.List;

/**
 * Batch iterators over an {@link SftDataset}: packed (padding-free rows of whole examples, best-fit
 * decreasing into rows of the dataset's maximum length; the rows are packed once and shuffled every
 * epoch) or padded (one example per row, the examples shuffled every epoch).
 */
public final class SftBatches {
    private SftBatches() {
    }

    /** The rows best-fit decreasing makes of a dataset, with rows of its maximum length. */
    public static List<int[]> packRows(SftDataset dataset) {
        if (dataset.maxLength() <= 0) {
            throw new IllegalArgumentException("packing needs a maximum length: the dataset was loaded without one");
        }
        int[] lengths = new int[dataset.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = dataset.length(i);
        }
        return BestFitDecreasing.pack(lengths, dataset.maxLength());
    }

    /** Packed batches of {@code rowsPerBatch} rows, from {@code start} (e.g. {@link #start(long, SftDataset, boolean)}). */
    public static EpochIterator<PackedBatch> packed(SftDataset dataset, int rowsPerBatch, boolean shuffle, IterationState start) {
        int[][] rows = packRows(dataset).toArray(int[][]::new);
        return new EpochIterator<>(rows.length, rowsPerBatch, shuffle, start, chosen -> {
            int[][] picked = new int[chosen.length][];
            for (int i = 0; i < chosen.length; i++) {
                picked[i] = rows[chosen[i]];
            }
            return PackedBatch.of(dataset, picked);
        });
    }

    /** Padded batches of {@code examplesPerBatch} examples. */
    public static EpochIterator<PaddedBatch> padded(SftDataset dataset, int examplesPerBatch, boolean shuffle, IterationState start) {
        return new EpochIterator<>(dataset.size(), examplesPerBatch, shuffle, start, chosen -> PaddedBatch.of(dataset, chosen));
    }

    /** The start of a run: epoch 0, batch 0, for packed rows ({@code packing}) or single examples. */
    public static IterationState start(long seed, SftDataset dataset, boolean packing) {
        return new IterationState(seed, 0, 0, packing ? packRows(dataset).size() : dataset.size());
    }
}

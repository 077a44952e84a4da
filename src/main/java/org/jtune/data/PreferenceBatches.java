package org.jtune.data;

/** Batch iterators over a {@link PreferenceDataset}: padded batches of pairs, shuffled every epoch. */
public final class PreferenceBatches {
    private PreferenceBatches() {
    }

    public static EpochIterator<PreferenceBatch> padded(PreferenceDataset dataset, int pairsPerBatch, boolean shuffle,
                                                        IterationState start) {
        return new EpochIterator<>(dataset.size(), pairsPerBatch, shuffle, start, chosen -> PreferenceBatch.of(dataset, chosen));
    }

    public static IterationState start(long seed, PreferenceDataset dataset) {
        return new IterationState(seed, 0, 0, dataset.size());
    }
}

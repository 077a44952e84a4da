package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.data.EpochIterator;
import org.jtune.data.IterationState;
import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceBatches;
import org.jtune.data.PreferenceDataset;

import java.io.IOException;

/**
 * Padded batches of preference pairs from a {@link PreferenceDataset}, epoch by epoch, shuffled per epoch from the
 * run's seed (or in dataset order), the position saved as JSON for checkpoints.
 */
public final class PreferenceBatchSource implements BatchSource<PreferenceBatch> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PreferenceDataset dataset;
    private final int pairsPerBatch;
    private final boolean shuffle;
    private int epoch;
    private long seed;
    private EpochIterator<PreferenceBatch> batches;

    /** @param pairsPerBatch pairs per micro-batch (TRL's {@code per_device_train_batch_size}) */
    public PreferenceBatchSource(PreferenceDataset dataset, int pairsPerBatch, boolean shuffle) {
        if (dataset.size() == 0) {
            throw new IllegalArgumentException("the preference dataset has no pairs");
        }
        if (pairsPerBatch <= 0) {
            throw new IllegalArgumentException("pairs per batch must be positive, got " + pairsPerBatch);
        }
        this.dataset = dataset;
        this.pairsPerBatch = pairsPerBatch;
        this.shuffle = shuffle;
        startEpoch(0, 0);
    }

    @Override
    public void startEpoch(int epoch, long seed) {
        at(epoch, seed, epoch, 0);
    }

    /** Serving epoch {@code epoch}; the underlying iterator stands at batch {@code batch} of {@code iteratorEpoch}. */
    private void at(int epoch, long seed, int iteratorEpoch, int batch) {
        this.epoch = epoch;
        this.seed = seed;
        this.batches = PreferenceBatches.padded(dataset, pairsPerBatch, shuffle,
                new IterationState(seed, iteratorEpoch, batch, dataset.size()));
    }

    @Override
    public PreferenceBatch next() {
        // the iterator runs on into the next epoch; this source ends each epoch with null
        return batches.state().epoch() == epoch ? batches.next() : null;
    }

    @Override
    public long batchesPerEpoch() {
        return batches.batchesPerEpoch();
    }

    @Override
    public String state() {
        IterationState s = batches.state();
        boolean done = s.epoch() != epoch;
        return JSON.createObjectNode().put("epoch", epoch).put("seed", seed).put("next", done ? -1 : s.batch())
                .toString();
    }

    @Override
    public void restore(String state) {
        JsonNode node;
        try {
            node = JSON.readTree(state);
        } catch (IOException e) {
            throw new IllegalArgumentException("preference batch source state is not JSON: " + state, e);
        }
        if (node == null || !node.has("epoch") || !node.has("seed") || !node.has("next")) {
            throw new IllegalArgumentException("preference batch source state needs epoch, seed and next: " + state);
        }
        int e = node.get("epoch").asInt(), next = node.get("next").asInt();
        long s = node.get("seed").asLong();
        if (next < -1 || next >= batchesPerEpoch()) {
            throw new IllegalArgumentException("preference batch source state " + state + " points outside the "
                    + batchesPerEpoch() + " batches of an epoch");
        }
        // next = -1: the epoch was used up
        at(e, s, next < 0 ? e + 1 : e, Math.max(0, next));
    }
}

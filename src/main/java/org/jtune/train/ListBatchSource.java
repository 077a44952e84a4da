package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Micro-batches held in memory, in their given order or shuffled per epoch (Fisher-Yates with a generator seeded
 * from the run's seed and the epoch, so that a position is fully described by epoch, seed and index).
 */
public final class ListBatchSource<B> implements BatchSource<B> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<B> batches;
    private final boolean shuffle;
    private int epoch;
    private long seed;
    private int[] order;
    private int next;

    public ListBatchSource(List<B> batches, boolean shuffle) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("a batch source needs at least one batch");
        }
        this.batches = List.copyOf(batches);
        this.shuffle = shuffle;
        startEpoch(0, 0);
    }

    @Override
    public void startEpoch(int epoch, long seed) {
        this.epoch = epoch;
        this.seed = seed;
        this.order = order(epoch, seed);
        this.next = 0;
    }

    private int[] order(int epoch, long seed) {
        int[] o = new int[batches.size()];
        for (int i = 0; i < o.length; i++) {
            o[i] = i;
        }
        if (shuffle) {
            SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = o.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
        }
        return o;
    }

    @Override
    public B next() {
        return next < order.length ? batches.get(order[next++]) : null;
    }

    @Override
    public long batchesPerEpoch() {
        return batches.size();
    }

    @Override
    public String state() {
        return JSON.createObjectNode().put("epoch", epoch).put("seed", seed).put("next", next).toString();
    }

    @Override
    public void restore(String state) {
        JsonNode node;
        try {
            node = JSON.readTree(state);
        } catch (IOException e) {
            throw new IllegalArgumentException("batch source state is not JSON: " + state, e);
        }
        if (node == null || !node.has("epoch") || !node.has("seed") || !node.has("next")) {
            throw new IllegalArgumentException("batch source state needs epoch, seed and next: " + state);
        }
        int position = node.get("next").asInt();
        if (position < 0 || position > batches.size()) {
            throw new IllegalArgumentException("batch source state " + state + " points outside the "
                    + batches.size() + " batches");
        }
        startEpoch(node.get("epoch").asInt(), node.get("seed").asLong());
        next = position;
    }
}

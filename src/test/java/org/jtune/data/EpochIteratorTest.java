package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Seeded shuffling and exact resumption from a saved position. */
class EpochIteratorTest {
    private static EpochIterator<int[]> units(int n, int perBatch, boolean shuffle, IterationState start) {
        return new EpochIterator<>(n, perBatch, shuffle, start, chosen -> chosen);
    }

    @Test
    void everyEpochVisitsEveryUnitOnceInASeededOrder() {
        long seed = 99L;
        int n = 103;
        EpochIterator<int[]> it = units(n, 10, true, new IterationState(seed, 0, 0, n));
        assertEquals(11, it.batchesPerEpoch());
        List<int[]> epochs = new ArrayList<>();
        for (int epoch = 0; epoch < 3; epoch++) {
            int[] order = new int[n];
            int at = 0;
            for (int b = 0; b < it.batchesPerEpoch(); b++) {
                int[] batch = it.next();
                assertEquals(b < 10 ? 10 : 3, batch.length);
                System.arraycopy(batch, 0, order, at, batch.length);
                at += batch.length;
            }
            int[] sorted = order.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < n; i++) {
                assertEquals(i, sorted[i], "seed " + seed + " epoch " + epoch);
            }
            epochs.add(order);
        }
        assertFalse(Arrays.equals(epochs.get(0), epochs.get(1)), "epochs are shuffled differently");
        // Same seed, same order; another seed, another order.
        EpochIterator<int[]> again = units(n, n, true, new IterationState(seed, 0, 0, n));
        assertArrayEquals(epochs.get(0), again.next());
        assertArrayEquals(epochs.get(1), again.next());
        assertFalse(Arrays.equals(epochs.get(0), units(n, n, true, new IterationState(seed + 1, 0, 0, n)).next()));
        int[] identity = units(n, n, false, new IterationState(seed, 0, 0, n)).next();
        for (int i = 0; i < n; i++) {
            assertEquals(i, identity[i]);
        }
    }

    @Test
    void resumingFromASavedStateGivesTheSameFollowingBatches() {
        long seed = 4242L;
        SftDataset d = PackingTest.randomDataset(seed, 300, 48);
        EpochIterator<PackedBatch> run = SftBatches.packed(d, 2, true, SftBatches.start(seed, d, true));
        int perEpoch = run.batchesPerEpoch();
        int stopAt = perEpoch + 3; // inside the second epoch
        IterationState saved = null;
        List<PackedBatch> after = new ArrayList<>();
        for (int step = 0; step < stopAt + perEpoch; step++) {
            if (step == stopAt) {
                saved = run.state();
            }
            PackedBatch b = run.next();
            if (step >= stopAt) {
                after.add(b);
            }
        }
        assertEquals(new IterationState(seed, 1, 3, run.state().units()), saved);
        EpochIterator<PackedBatch> resumed = SftBatches.packed(d, 2, true, saved);
        for (int i = 0; i < after.size(); i++) {
            PackedBatch expected = after.get(i);
            PackedBatch actual = resumed.next();
            String where = "seed " + seed + " batch " + i + " after resuming";
            assertArrayEquals(expected.examples(), actual.examples(), where);
            assertArrayEquals(expected.inputIds(), actual.inputIds(), where);
            assertArrayEquals(expected.labels(), actual.labels(), where);
            assertArrayEquals(expected.positionIds(), actual.positionIds(), where);
            assertArrayEquals(expected.cuSeqlens(), actual.cuSeqlens(), where);
        }
    }

    @Test
    void resumingOnADifferentDatasetIsRefused() {
        DatasetException e = assertThrows(DatasetException.class, () -> units(50, 5, true, new IterationState(1, 2, 3, 49)));
        assertEquals(true, e.getMessage().contains("49 units") && e.getMessage().contains("has 50"), e.getMessage());
    }
}

package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Best-fit decreasing against straightforward references, and the layout of packed and padded batches. */
class PackingTest {
    static SftDataset randomDataset(long seed, int n, int maxLength) {
        Random random = new Random(seed);
        List<TokenizedExample> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + random.nextInt(maxLength);
            int[] ids = new int[len];
            boolean[] trainable = new boolean[len];
            for (int k = 0; k < len; k++) {
                ids[k] = 3 + random.nextInt(1000);
                trainable[k] = random.nextBoolean();
            }
            examples.add(new TokenizedExample(ids, trainable));
        }
        return SftDataset.of(examples, new SpecialTokens(2, 0), maxLength);
    }

    /** Best-fit decreasing written the plain way: scan every row for the fullest one that still fits. */
    private static List<List<Integer>> naiveBestFitDecreasing(int[] lengths, int capacity) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[b], lengths[a]) : Integer.compare(a, b));
        List<List<Integer>> rows = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int i : order) {
            int best = -1;
            for (int r = 0; r < rows.size(); r++) {
                int free = capacity - used.get(r);
                // Strictly smaller free space wins, so among equals the row opened first is kept.
                if (free >= lengths[i] && (best < 0 || free < capacity - used.get(best))) {
                    best = r;
                }
            }
            if (best < 0) {
                rows.add(new ArrayList<>());
                used.add(0);
                best = rows.size() - 1;
            }
            rows.get(best).add(i);
            used.set(best, used.get(best) + lengths[i]);
        }
        return rows;
    }

    /** The fewest rows any packing needs, by trying every assignment. */
    private static int optimalRows(int[] lengths, int capacity) {
        for (int rows = 1; ; rows++) {
            if (fits(lengths, 0, new int[rows], capacity)) {
                return rows;
            }
        }
    }

    private static boolean fits(int[] lengths, int i, int[] used, int capacity) {
        if (i == lengths.length) {
            return true;
        }
        for (int r = 0; r < used.length; r++) {
            if (used[r] + lengths[i] <= capacity) {
                used[r] += lengths[i];
                boolean ok = fits(lengths, i + 1, used, capacity);
                used[r] -= lengths[i];
                if (ok) {
                    return true;
                }
            }
            if (used[r] == 0) {
                break; // empty rows are interchangeable
            }
        }
        return false;
    }

    @Test
    void bestFitDecreasingMatchesTheReferenceAndTheBoundOnTheOptimum() {
        long seed = 77031L;
        Random random = new Random(seed);
        for (int trial = 0; trial < 300; trial++) {
            int capacity = 4 + random.nextInt(30);
            int n = 1 + random.nextInt(trial < 200 ? 9 : 200);
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + random.nextInt(capacity);
            }
            String where = "seed " + seed + " trial " + trial + " capacity " + capacity + " lengths " + Arrays.toString(lengths);
            List<int[]> rows = BestFitDecreasing.pack(lengths, capacity);
            List<List<Integer>> expected = naiveBestFitDecreasing(lengths, capacity);
            assertEquals(expected.size(), rows.size(), where);
            for (int r = 0; r < rows.size(); r++) {
                assertEquals(expected.get(r), Arrays.stream(rows.get(r)).boxed().toList(), where + " row " + r);
            }
            if (n <= 9) {
                // Best-fit decreasing never needs more than 11/9 OPT + 6/9 rows (Dosa 2007).
                int opt = optimalRows(lengths, capacity);
                assertTrue(9 * rows.size() <= 11 * opt + 6, where + ": " + rows.size() + " rows, optimum " + opt);
            }
        }
    }

    @Test
    void packedBatchesHoldWholeDocumentsWithRestartingPositionsAndMaskedLabels() {
        long seed = 5150L;
        int maxLength = 64;
        SftDataset d = randomDataset(seed, 500, maxLength);
        int rowsPerBatch = 3;
        EpochIterator<PackedBatch> it = SftBatches.packed(d, rowsPerBatch, true, SftBatches.start(seed, d, true));
        int[] placed = new int[d.size()];
        for (int b = 0; b < it.batchesPerEpoch(); b++) {
            PackedBatch batch = it.next();
            String where = "seed " + seed + " batch " + b;
            assertTrue(batch.rowCount() <= rowsPerBatch, where);
            assertEquals(0, batch.rowStarts()[0]);
            assertEquals(batch.tokenCount(), batch.rowStarts()[batch.rowCount()]);
            for (int r = 0; r < batch.rowCount(); r++) {
                int rowLength = batch.rowStarts()[r + 1] - batch.rowStarts()[r];
                assertTrue(rowLength > 0 && rowLength <= maxLength, where + " row " + r + " has " + rowLength);
            }
            assertEquals(0, batch.cuSeqlens()[0]);
            assertEquals(batch.tokenCount(), batch.cuSeqlens()[batch.documentCount()]);
            int maxSeqlen = 0;
            List<Integer> rowStarts = Arrays.stream(batch.rowStarts()).boxed().toList();
            List<Integer> docStarts = Arrays.stream(batch.cuSeqlens()).boxed().toList();
            assertTrue(docStarts.containsAll(rowStarts), where + ": every row starts with a document");
            for (int doc = 0; doc < batch.documentCount(); doc++) {
                int start = batch.cuSeqlens()[doc];
                int end = batch.cuSeqlens()[doc + 1];
                int example = batch.examples()[doc];
                placed[example]++;
                TokenizedExample e = d.example(example);
                assertEquals(e.length(), end - start, where + " doc " + doc);
                maxSeqlen = Math.max(maxSeqlen, end - start);
                for (int k = 0; k < e.length(); k++) {
                    int t = start + k;
                    assertEquals(e.ids()[k], batch.inputIds()[t], where + " token " + t);
                    assertEquals(k, batch.positionIds()[t], where + " token " + t);
                    assertEquals(doc, batch.documentIds()[t], where + " token " + t);
                    int label = k > 0 && e.trainable()[k] ? e.ids()[k] : -100;
                    assertEquals(label, batch.labels()[t], where + " token " + t);
                }
            }
            assertEquals(maxSeqlen, batch.maxSeqlen());
        }
        for (int i = 0; i < placed.length; i++) {
            assertEquals(1, placed[i], "seed " + seed + ": example " + i + " placed " + placed[i] + " times in one epoch");
        }
    }

    @Test
    void paddedBatchesPadToTheLongestRowWithIgnoredLabels() {
        long seed = 8128L;
        SftDataset d = randomDataset(seed, 37, 20);
        EpochIterator<PaddedBatch> it = SftBatches.padded(d, 8, true, SftBatches.start(seed, d, false));
        int[] seen = new int[d.size()];
        for (int b = 0; b < it.batchesPerEpoch(); b++) {
            PaddedBatch batch = it.next();
            assertEquals(b < 4 ? 8 : 5, batch.rows());
            int width = 0;
            for (int r = 0; r < batch.rows(); r++) {
                TokenizedExample e = d.example(batch.examples()[r]);
                seen[batch.examples()[r]]++;
                width = Math.max(width, e.length());
                assertEquals(e.length(), batch.lengths()[r]);
                for (int k = 0; k < batch.width(); k++) {
                    int t = r * batch.width() + k;
                    String where = "seed " + seed + " batch " + b + " row " + r + " col " + k;
                    assertEquals(k < e.length() ? e.ids()[k] : 0, batch.inputIds()[t], where);
                    int label = k > 0 && k < e.length() && e.trainable()[k] ? e.ids()[k] : -100;
                    assertEquals(label, batch.labels()[t], where);
                }
            }
            assertEquals(width, batch.width());
        }
        int[] once = new int[d.size()];
        Arrays.fill(once, 1);
        assertArrayEquals(once, seen);
    }
}

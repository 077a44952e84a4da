package org.jtune.train;

import org.jtune.data.SftDataset;
import org.jtune.data.SpecialTokens;
import org.jtune.data.TokenizedExample;
import org.jtune.model.Batch;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.model.cpu.Ops;
import org.jtune.testing.TinyModel;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer's view of an SFT dataset: every example once per epoch, right labels, exact resumption. */
class SftBatchSourceTest {
    private static final int PAD = 0;
    private static final int MAX_LENGTH = 24;

    /** Examples of random lengths and tokens (never the pad id), with random loss targets. */
    private static SftDataset dataset(Random rnd, int count) {
        List<TokenizedExample> examples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = 2 + rnd.nextInt(MAX_LENGTH - 1);
            int[] ids = new int[n];
            boolean[] trainable = new boolean[n];
            for (int k = 0; k < n; k++) {
                ids[k] = 1 + rnd.nextInt(TinyModel.CONFIG.vocabSize() - 1);
                trainable[k] = rnd.nextBoolean();
            }
            trainable[n - 1] = true;
            examples.add(new TokenizedExample(ids, trainable));
        }
        return SftDataset.of(examples, new SpecialTokens(2, PAD), MAX_LENGTH);
    }

    /** The documents of a batch as (tokens, labels) runs, checking the padding on the way. */
    private static List<int[][]> documents(Batch b, String where) {
        List<int[][]> docs = new ArrayList<>();
        for (int r = 0; r < b.batchSize(); r++) {
            int t = 0;
            while (t < b.seqLen()) {
                int i = r * b.seqLen() + t, start = t;
                while (t < b.seqLen() && b.documentIds()[r * b.seqLen() + t] == b.documentIds()[i]) {
                    assertEquals(t - start, b.positions()[r * b.seqLen() + t], where + ": positions restart per document");
                    t++;
                }
                int[] tokens = Arrays.copyOfRange(b.tokens(), i, i + t - start);
                int[] labels = Arrays.copyOfRange(b.labels(), i, i + t - start);
                if (tokens[0] == PAD) { // padding: all pad, nothing labelled, and only at the end of a row
                    assertEquals(b.seqLen(), t, where);
                    for (int k = 0; k < tokens.length; k++) {
                        assertEquals(PAD, tokens[k], where);
                        assertEquals(Batch.IGNORE_INDEX, labels[k], where);
                    }
                } else {
                    docs.add(new int[][] {tokens, labels});
                }
            }
        }
        return docs;
    }

    /** The labels the dataset calls for: the token where it is a target after the first, else ignored. */
    private static int[] expectedLabels(TokenizedExample e) {
        int[] labels = new int[e.length()];
        for (int k = 0; k < labels.length; k++) {
            labels[k] = k > 0 && e.trainable()[k] ? e.ids()[k] : Batch.IGNORE_INDEX;
        }
        return labels;
    }

    @Test
    void everyEpochHoldsEveryExampleOnceWithItsLabels() {
        for (boolean packing : new boolean[] {true, false}) {
            long seed = System.nanoTime();
            Random rnd = new Random(seed);
            SftDataset d = dataset(rnd, 37);
            String where = "seed " + seed + ", packing " + packing;
            Map<String, Integer> expected = new HashMap<>();
            for (int i = 0; i < d.size(); i++) {
                TokenizedExample e = d.example(i);
                expected.merge(Arrays.toString(e.ids()) + Arrays.toString(expectedLabels(e)), 1, Integer::sum);
            }
            SftBatchSource source = new SftBatchSource(d, 3, packing, true);
            List<String> epochOrders = new ArrayList<>();
            for (int epoch = 0; epoch < 2; epoch++) {
                source.startEpoch(epoch, seed);
                Map<String, Integer> seen = new HashMap<>();
                StringBuilder order = new StringBuilder();
                long batches = 0;
                for (Batch b = source.next(); b != null; b = source.next()) {
                    batches++;
                    assertTrue(b.batchSize() <= 3 && b.seqLen() <= MAX_LENGTH, where);
                    for (int[][] doc : documents(b, where)) {
                        String key = Arrays.toString(doc[0]) + Arrays.toString(doc[1]);
                        seen.merge(key, 1, Integer::sum);
                        order.append(key);
                    }
                }
                assertEquals(source.batchesPerEpoch(), batches, where);
                assertEquals(expected, seen, where + ", epoch " + epoch);
                epochOrders.add(order.toString());
            }
            assertNotEquals(epochOrders.get(0), epochOrders.get(1), where + ": each epoch is shuffled anew");
        }
    }

    @Test
    void restoredStateGivesTheSameBatchesAsAnUninterruptedRun() throws Exception {
        for (boolean packing : new boolean[] {true, false}) {
            long seed = System.nanoTime();
            SftDataset d = dataset(new Random(seed), 29);
            String where = "seed " + seed + ", packing " + packing;
            // the trainer's protocol: next() until null, then startEpoch(epoch + 1)
            SftBatchSource run = new SftBatchSource(d, 2, packing, true);
            run.startEpoch(0, seed);
            List<Batch> batches = new ArrayList<>();
            List<String> states = new ArrayList<>();
            int epoch = 0;
            while (epoch < 3) {
                states.add(run.state());
                Batch b = run.next();
                if (b == null) {
                    run.startEpoch(++epoch, seed);
                    states.remove(states.size() - 1);
                    continue;
                }
                batches.add(b);
            }
            for (int at = 0; at < batches.size(); at++) {
                SftBatchSource resumed = new SftBatchSource(d, 2, packing, true);
                resumed.restore(states.get(at));
                int e = new com.fasterxml.jackson.databind.ObjectMapper().readTree(states.get(at)).get("epoch").asInt();
                for (int k = at; k < batches.size(); k++) {
                    Batch b = resumed.next();
                    if (b == null) {
                        resumed.startEpoch(++e, seed);
                        b = resumed.next();
                    }
                    Batch want = batches.get(k);
                    String msg = where + ", resumed at batch " + at + ", batch " + k;
                    assertArrayEquals(want.tokens(), b.tokens(), msg);
                    assertArrayEquals(want.labels(), b.labels(), msg);
                    assertArrayEquals(want.positions(), b.positions(), msg);
                    assertArrayEquals(want.documentIds(), b.documentIds(), msg);
                }
            }
        }
    }

    @Test
    void anEpochEndsWhereTheTrainerExpectsItAfterARestore() {
        SftDataset d = dataset(new Random(3), 10);
        SftBatchSource source = new SftBatchSource(d, 10, false, true);
        source.startEpoch(0, 3);
        source.next();
        String endOfEpoch = source.state();
        SftBatchSource resumed = new SftBatchSource(d, 10, false, true);
        resumed.restore(endOfEpoch);
        assertNull(resumed.next(), "the restored source is at the end of epoch 0, not inside epoch 1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SftBatchSource(d, 10, true, true).restore(endOfEpoch));
        assertTrue(e.getMessage().contains("packing"), e.getMessage());
    }

    /**
     * Packing must not change the math: the loss of a packed batch is the label-weighted mean of the losses of its
     * documents run one by one (attention stays inside each document, positions restart).
     */
    @Test
    void packedLossEqualsTheLossOfEachExampleAlone() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        SftDataset d = dataset(rnd, 9);
        try (Arena arena = Arena.ofShared()) { // the CPU ops read tensors from several threads
            TinyModel tiny = new TinyModel(seed, arena);
            var lora = TinyModel.randomAdapters(rnd, arena);
            try (CpuCausalLm model = new CpuCausalLm(TinyModel.CONFIG, tiny.weights, lora, new CpuOps(), 4, MAX_LENGTH,
                    false)) {
                SftBatchSource source = new SftBatchSource(d, 4, true, true);
                source.startEpoch(0, seed);
                Batch packed = source.next();
                double sum = 0;
                long count = 0;
                for (int[][] doc : documents(packed, "seed " + seed)) {
                    long n = Arrays.stream(doc[1]).skip(1).filter(l -> l != Batch.IGNORE_INDEX).count();
                    if (n > 0) {
                        sum += (double) model.forward(Batch.of(new int[][] {doc[0]}, new int[][] {doc[1]})) * n;
                        count += n;
                    }
                }
                float loss = model.forward(packed);
                assertEquals(sum / count, loss, 2e-6 * Math.abs(sum / count), "seed " + seed);
            }
        }
    }
}

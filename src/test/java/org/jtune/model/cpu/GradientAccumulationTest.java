package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Accumulating micro-batches gives the gradient and loss of one batch holding all their rows. */
class GradientAccumulationTest extends TestFixture {
    @Test
    void microBatchesEqualOneBigBatch() {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        int len = 9;
        List<Batch> micro = new ArrayList<>(List.of(TinyModel.batch(rnd, 1, len), TinyModel.batch(rnd, 2, len),
                TinyModel.batch(rnd, 1, len)));
        // micro-batches with very different label counts, one with none, so that the weighting matters
        micro.add(1, onlyLastLabel(TinyModel.batch(rnd, 1, len)));
        micro.add(allMasked(TinyModel.batch(rnd, 2, len)));
        Batch big = concat(micro);
        try (CpuCausalLm model = new CpuCausalLm(TinyModel.CONFIG, m.weights, lora, new CpuOps(), big.batchSize(), len,
                false)) {
            lora.zeroGradients();
            float bigLoss = model.forward(big);
            model.backward();
            List<float[]> expected = lora.names().stream().map(n -> lora.gradient(n).toFloatArray()).toList();

            GradientAccumulation acc = new GradientAccumulation(lora, arena);
            GradientAccumulation.Window w = acc.accumulate(model, micro);
            assertEquals(big.labelledTokens(), w.labelledTokens());
            assertEquals(big.tokenCount(), w.tokens());
            assertEquals(bigLoss, w.loss(), 1e-5 * bigLoss, "seed " + seed);
            List<Tensor> actual = acc.gradients();
            double largest = 0;
            for (int t = 0; t < expected.size(); t++) {
                float[] e = expected.get(t), a = actual.get(t).toFloatArray();
                for (int i = 0; i < e.length; i++) {
                    largest = Math.max(largest, Math.abs(e[i]));
                    assertTrue(Math.abs(e[i] - a[i]) <= 1e-4 * Math.abs(e[i]) + 1e-6,
                            "seed " + seed + ": " + lora.names().get(t) + "[" + i + "] " + a[i] + " vs " + e[i]);
                }
            }
            assertTrue(largest > 1e-3, "gradients too small to compare: " + largest);
        }
    }

    @Test
    void oneMicroBatchIsTheModelGradientBitForBit() {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        Batch b = TinyModel.batch(rnd, 2, 7);
        try (CpuCausalLm model = new CpuCausalLm(TinyModel.CONFIG, m.weights, lora, new CpuOps(), 2, 7, false)) {
            lora.zeroGradients();
            model.forward(b);
            model.backward();
            List<float[]> expected = lora.names().stream().map(n -> lora.gradient(n).toFloatArray()).toList();
            GradientAccumulation acc = new GradientAccumulation(lora, arena);
            acc.accumulate(model, List.of(b));
            for (int t = 0; t < expected.size(); t++) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected.get(t),
                        acc.gradients().get(t).toFloatArray(), 0f, "seed " + seed);
            }
        }
    }

    @Test
    void countsLabelsAfterTheShift() {
        Batch b = Batch.of(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}}, new int[][] {{1, -100, 3, 4}, {-100, 6, -100, -100}});
        // row 0: labels at t=2,3 (t=0 is never predicted); row 1: t=1
        assertEquals(3, b.labelledTokens());
    }

    /** One labelled token only: the last of the last row. */
    private static Batch onlyLastLabel(Batch b) {
        int[] labels = new int[b.labels().length];
        java.util.Arrays.fill(labels, -100);
        labels[labels.length - 1] = b.tokens()[labels.length - 1];
        return new Batch(b.batchSize(), b.seqLen(), b.tokens(), b.positions(), b.documentIds(), labels);
    }

    private static Batch allMasked(Batch b) {
        int[] labels = new int[b.labels().length];
        java.util.Arrays.fill(labels, -100);
        return new Batch(b.batchSize(), b.seqLen(), b.tokens(), b.positions(), b.documentIds(), labels);
    }

    private static Batch concat(List<Batch> batches) {
        int rows = batches.stream().mapToInt(Batch::batchSize).sum(), len = batches.get(0).seqLen();
        int[] tokens = new int[rows * len], positions = new int[rows * len], docs = new int[rows * len],
                labels = new int[rows * len];
        int at = 0;
        for (Batch b : batches) {
            System.arraycopy(b.tokens(), 0, tokens, at, b.tokenCount());
            System.arraycopy(b.positions(), 0, positions, at, b.tokenCount());
            System.arraycopy(b.documentIds(), 0, docs, at, b.tokenCount());
            System.arraycopy(b.labels(), 0, labels, at, b.tokenCount());
            at += b.tokenCount();
        }
        return new Batch(rows, len, tokens, positions, docs, labels);
    }
}

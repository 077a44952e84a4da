package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.ReferenceModel;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.numericGradient;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-row sequence log-probabilities and the backward of a function of them (what DPO needs), against the
 * double-precision reference model and finite differences; the adapters-off switch against the base model alone.
 */
class SequenceLogProbsTest extends TestFixture {
    private static final int ROWS = 4, LEN = 9;

    /** Rows as the preference collator lays them out: a prompt (no labels), a completion, right padding. */
    private Batch promptCompletionBatch(int vocab) {
        int[][] tokens = new int[ROWS][LEN], labels = new int[ROWS][LEN];
        for (int b = 0; b < ROWS; b++) {
            int prompt = 1 + rnd.nextInt(3), completion = 1 + rnd.nextInt(LEN - prompt);
            for (int t = 0; t < LEN; t++) {
                boolean real = t < prompt + completion;
                tokens[b][t] = real ? rnd.nextInt(vocab) : 2;
                labels[b][t] = real && t >= prompt ? tokens[b][t] : -100;
            }
        }
        return Batch.of(tokens, labels);
    }

    private LoraAdapters randomAdapters(ModelConfig c, LoraConfig lc) {
        LoraAdapters lora = new LoraAdapters(c, lc, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        return lora;
    }

    private static Map<String, double[]> values(LoraAdapters lora) {
        Map<String, double[]> m = new HashMap<>();
        for (String name : lora.names()) {
            m.put(name, toDoubles(lora.tensor(name).toFloatArray()));
        }
        return m;
    }

    private void checkLogProbsAndGradients(boolean checkpointing) {
        ModelConfig c = CpuCausalLmTest.tinyMistral();
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.F32, 0.3, seed, arena));
        LoraConfig lc = LoraConfig.allProjections(2, 4, false);
        LoraAdapters lora = randomAdapters(c, lc);
        Batch batch = promptCompletionBatch(c.vocabSize());
        double[] coefficients = new double[ROWS];
        for (int b = 0; b < ROWS; b++) {
            coefficients[b] = rnd.nextGaussian(); // distinct per row, signs mixed, as DPO's are
        }
        String what = "seed " + seed + (checkpointing ? ", checkpointing" : "");
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), ROWS, LEN, checkpointing)) {
            double[] logProbs = model.forwardSequenceLogProbs(batch);
            lora.zeroGradients();
            model.backward(coefficients);

            ReferenceModel ref = new ReferenceModel(c, w, lc.scaling(), batch);
            Map<String, double[]> base = values(lora);
            double[] expected = ref.sequenceLogProbs(base);
            for (int b = 0; b < ROWS; b++) {
                assertTrue(expected[b] < 0, what + ": row " + b + " has completion tokens");
                assertEquals(expected[b], logProbs[b], 1e-5 * Math.abs(expected[b]), what + ": log p of row " + b);
            }
            for (String name : lora.names()) {
                double[] g = numericGradient(base.get(name), x -> {
                    Map<String, double[]> probe = new HashMap<>(base);
                    probe.put(name, x);
                    double[] lp = ref.sequenceLogProbs(probe);
                    double s = 0;
                    for (int b = 0; b < ROWS; b++) {
                        s += coefficients[b] * lp[b];
                    }
                    return s;
                });
                assertClose(what + ": gradient of " + name, seed, g, lora.gradient(name).toFloatArray(), 1e-3, 1e-4);
            }
        }
    }

    @Test
    void logProbsAndWeightedBackwardMatchReference() {
        checkLogProbsAndGradients(false);
    }

    @Test
    void logProbsAndWeightedBackwardMatchReferenceWithCheckpointing() {
        checkLogProbsAndGradients(true);
    }

    @Test
    void adaptersDisabledIsTheBaseModelBitForBit() {
        ModelConfig c = CpuCausalLmTest.tinyMistral();
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.3, seed, arena));
        LoraAdapters lora = randomAdapters(c, LoraConfig.allProjections(3, 6, false));
        Batch batch = promptCompletionBatch(c.vocabSize());
        double[] base;
        float baseLoss;
        try (CpuCausalLm model = new CpuCausalLm(c, w, null, new CpuOps(), ROWS, LEN, false)) {
            base = model.forwardSequenceLogProbs(batch);
            baseLoss = model.forward(batch);
        }
        ReferenceModel ref = new ReferenceModel(c, w, 0, batch);
        assertClose("base log p (seed " + seed + ")", seed, ref.sequenceLogProbs(Map.of()), toFloats(base), 1e-5, 0);
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), ROWS, LEN, true)) {
            double[] withAdapters = model.forwardSequenceLogProbs(batch);
            model.setAdaptersEnabled(false);
            assertArrayEquals(base, model.forwardSequenceLogProbs(batch), "seed " + seed);
            assertEquals(baseLoss, model.forward(batch), "seed " + seed);
            IllegalStateException e = assertThrows(IllegalStateException.class, model::backward);
            assertTrue(e.getMessage().contains("adapters enabled"), e.getMessage());
            model.forwardSequenceLogProbs(batch);
            assertThrows(IllegalStateException.class, () -> model.backward(new double[ROWS]));
            model.setAdaptersEnabled(true);
            assertArrayEquals(withAdapters, model.forwardSequenceLogProbs(batch), "seed " + seed);
            for (int b = 0; b < ROWS; b++) {
                assertTrue(withAdapters[b] != base[b], "the adapters change row " + b + ", seed " + seed);
            }
        }
    }

    @Test
    void backwardMustMatchTheForward() {
        ModelConfig c = CpuCausalLmTest.tinyMistral();
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.F32, 0.3, seed, arena));
        LoraAdapters lora = randomAdapters(c, LoraConfig.allProjections(2, 4, false));
        Batch batch = promptCompletionBatch(c.vocabSize());
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), ROWS, LEN, false)) {
            model.forwardSequenceLogProbs(batch);
            assertThrows(IllegalStateException.class, model::backward);
            model.forwardSequenceLogProbs(batch);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.backward(new double[ROWS + 1]));
            assertTrue(e.getMessage().contains("row coefficients"), e.getMessage());
            model.forward(batch);
            assertThrows(IllegalStateException.class, () -> model.backward(new double[ROWS]));
        }
    }

    private static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}

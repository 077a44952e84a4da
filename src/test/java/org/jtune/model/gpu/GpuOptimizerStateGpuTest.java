package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.GpuTest;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GpuCausalLm#storeOptimizerState} and {@link GpuCausalLm#loadOptimizerState}: the moments come out
 * under the name of their matrix (in {@link LoraAdapters#names()} order, as the CPU optimizer's file keeps them),
 * go back in unchanged with their step count, and tensors of the wrong size are refused.
 */
@GpuTest
class GpuOptimizerStateGpuTest extends TestFixture {
    private static final double BETA1 = 0.9, BETA2 = 0.999;

    private GpuCausalLm model(ModelConfig c) {
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.05, seed, arena));
        return GpuCausalLm.create(Context.primary(Device.get(0)), c, w, TestConfigs.LORA, new StepShape(2, 64, 1),
                Checkpointing.OFF);
    }

    /** A and B random, rounded to bf16 (as the GPU's copies hold them). */
    private LoraAdapters randomAdapters(ModelConfig c) {
        LoraAdapters lora = new LoraAdapters(c, TestConfigs.LORA, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) (rnd.nextGaussian() * 0.05))));
            }
        }
        return lora;
    }

    /** One fp32 tensor per matrix of {@code lora}, of its shape, in the order of its names. */
    private List<Tensor> momentTensors(LoraAdapters lora) {
        List<Tensor> out = new ArrayList<>();
        for (String name : lora.names()) {
            out.add(Tensor.f32(arena, lora.tensor(name).shape()));
        }
        return out;
    }

    private Batch randomBatch(int vocab) {
        int[][] tokens = new int[2][64];
        for (int[] row : tokens) {
            for (int t = 0; t < row.length; t++) {
                row[t] = rnd.nextInt(vocab);
            }
        }
        return Batch.of(tokens, tokens);
    }

    /**
     * After the first update from zero moments, without clipping, AdamW leaves m = (1 - beta1) g and
     * v = (1 - beta2) g² for the gradient g of each matrix: the stored moments must be those of the matrix they
     * are named for. Reference in double; fp32 rounding of the products allowed.
     */
    @Test
    void momentsAreStoredUnderTheirMatrixName() {
        ModelConfig c = TestConfigs.tiny(0);
        LoraAdapters lora = randomAdapters(c);
        try (GpuCausalLm model = model(c)) {
            model.loadAdapters(lora);
            model.trainStep(List.of(randomBatch(c.vocabSize())), new AdamWKernels.Hyper(1e-3, BETA1, BETA2, 1e-8,
                    0.01), 0f);
            model.storeGradients(lora);
            List<Tensor> m = momentTensors(lora), v = momentTensors(lora);
            assertEquals(1, model.optimizerSteps(), "seed " + seed);
            assertEquals(1, model.storeOptimizerState(m, v), "seed " + seed);
            double gradientSum = 0;
            List<String> names = lora.names();
            for (int t = 0; t < names.size(); t++) {
                Tensor g = lora.gradient(names.get(t));
                for (long i = 0; i < g.size(); i++) {
                    double gi = g.get(i);
                    gradientSum += Math.abs(gi);
                    check(m.get(t).get(i), (1 - BETA1) * gi, names.get(t) + ".exp_avg[" + i + "]");
                    check(v.get(t).get(i), (1 - BETA2) * gi * gi, names.get(t) + ".exp_avg_sq[" + i + "]");
                }
            }
            assertTrue(gradientSum > 0, "all gradients are zero; seed " + seed);
        }
    }

    private void check(float actual, double expected, String what) {
        assertTrue(Math.abs(actual - expected) <= 0x1p-20 * Math.abs(expected) + Float.MIN_NORMAL,
                what + " is " + actual + ", expected " + expected + "; seed " + seed);
    }

    /** Random moments loaded with a step count come back bit for bit with that count; loading adapters resets them. */
    @Test
    void loadedMomentsComeBackUnchanged() {
        ModelConfig c = TestConfigs.tiny(0);
        LoraAdapters lora = randomAdapters(c);
        try (GpuCausalLm model = model(c)) {
            model.loadAdapters(lora);
            List<Tensor> m = momentTensors(lora), v = momentTensors(lora);
            for (int t = 0; t < m.size(); t++) {
                for (long i = 0; i < m.get(t).size(); i++) {
                    m.get(t).set(i, (float) rnd.nextGaussian());
                    v.get(t).set(i, (float) Math.abs(rnd.nextGaussian()));
                }
            }
            int steps = 1 + rnd.nextInt(1000);
            model.loadOptimizerState(m, v, steps);
            assertEquals(steps, model.optimizerSteps(), "seed " + seed);
            List<Tensor> m2 = momentTensors(lora), v2 = momentTensors(lora);
            assertEquals(steps, model.storeOptimizerState(m2, v2), "seed " + seed);
            for (int t = 0; t < m.size(); t++) {
                String name = lora.names().get(t);
                for (long i = 0; i < m.get(t).size(); i++) {
                    assertEquals(m.get(t).get(i), m2.get(t).get(i), 0f, name + ".exp_avg[" + i + "]; seed " + seed);
                    assertEquals(v.get(t).get(i), v2.get(t).get(i), 0f, name + ".exp_avg_sq[" + i + "]; seed " + seed);
                }
            }

            model.loadAdapters(lora);
            assertEquals(0, model.storeOptimizerState(m2, v2), "seed " + seed);
            for (int t = 0; t < m2.size(); t++) {
                for (long i = 0; i < m2.get(t).size(); i++) {
                    assertEquals(0f, m2.get(t).get(i), 0f, "seed " + seed);
                    assertEquals(0f, v2.get(t).get(i), 0f, "seed " + seed);
                }
            }
        }
    }

    /** A tensor list that does not match the matrices is refused with which matrix and what it needs. */
    @Test
    void mismatchedMomentTensorsAreRefused() {
        ModelConfig c = TestConfigs.tiny(0);
        LoraAdapters lora = randomAdapters(c);
        try (GpuCausalLm model = model(c)) {
            model.loadAdapters(lora);
            List<Tensor> m = momentTensors(lora), v = momentTensors(lora);
            assertThrows(IllegalArgumentException.class, () -> model.storeOptimizerState(m.subList(1, m.size()), v));
            List<Tensor> wrong = new ArrayList<>(m);
            wrong.set(3, Tensor.f32(arena, 5));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.loadOptimizerState(wrong, v, 1));
            assertTrue(e.getMessage().contains("layer 0") && e.getMessage().contains("B"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> model.loadOptimizerState(m, v, -1));
        }
    }
}

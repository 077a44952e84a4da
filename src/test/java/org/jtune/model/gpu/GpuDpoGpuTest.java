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
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.jtune.train.DpoLoss;
import org.jtune.train.DpoLossType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.jtune.model.gpu.GpuCausalLmGpuTest.LOSS_RTOL;
import static org.jtune.model.gpu.GpuCausalLmGpuTest.assertClose;
import static org.jtune.model.gpu.GpuCausalLmGpuTest.assertGradientsMatch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The GPU step's DPO parts against the CPU engine ({@link CpuCausalLm#forwardSequenceLogProbs},
 * {@link CpuCausalLm#backward(double[])}) on the tiny model of {@link GpuCausalLmGpuTest}: preference batches of
 * chosen rows then rejected rows, a masked prompt, a completion of 100 to 150 tokens and right padding.
 *
 * <p>Tolerances, from {@link GpuCausalLmGpuTest}. A sequence log-probability is a sum of token losses like the SFT
 * loss is a mean of them: within {@code LOSS_RTOL} (u/2) of itself. The DPO loss is a smooth function of the four
 * log-probabilities of each pair, so its error is at most the sum of |dLoss/dx| times their tolerances (first
 * order; with beta 0.01 hinge stays far from its kink). The gradient is checked for the CPU's row coefficients, so that it
 * tests the backward alone, with the SFT step's gradient tolerances.
 */
@GpuTest
class GpuDpoGpuTest extends TestFixture {
    private static final int PAIRS = 2, LEN = 160;

    private static Context context() {
        return Context.primary(Device.get(0));
    }

    /**
     * Random A and B (bf16 values) of the scale {@link GpuCausalLmGpuTest} measured its gradient tolerances on
     * (standard deviation 0.05): log p with and without them then differs by 6 to 12 times its tolerance. Larger
     * adapters make the gradient ill-conditioned, so that bf16 activations no longer meet those tolerances: on the
     * CPU engine, relative noise of u on the adapters moves the first layer's q_proj A gradient by 2.6u (Frobenius)
     * at 0.05, 5u at 0.07 and 15u at 0.1, for the DPO and the SFT loss alike.
     */
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

    /**
     * Rows 0..pairs-1 chosen, then the rejected ones: random tokens, the prompt (10 to 29 tokens, the same for
     * both rows of a pair) labelled -100, the completion labelled with its tokens, then 0 to 19 tokens of padding
     * labelled -100.
     */
    private int[][][] preferenceRows(int pairs, int vocab) {
        int[][] tokens = new int[2 * pairs][LEN], labels = new int[2 * pairs][LEN];
        for (int p = 0; p < pairs; p++) {
            int prompt = 10 + rnd.nextInt(20);
            int[] promptTokens = rnd.ints(prompt, 0, vocab).toArray();
            for (int side = 0; side < 2; side++) {
                int row = side * pairs + p, end = LEN - rnd.nextInt(20);
                for (int t = 0; t < LEN; t++) {
                    tokens[row][t] = t < prompt ? promptTokens[t] : rnd.nextInt(vocab);
                    labels[row][t] = t >= prompt && t < end ? tokens[row][t] : -100;
                }
            }
        }
        return new int[][][] {tokens, labels};
    }

    private static Batch rows(int[][][] rows, int... which) {
        int[][] tokens = new int[which.length][], labels = new int[which.length][];
        for (int i = 0; i < which.length; i++) {
            tokens[i] = rows[0][which[i]];
            labels[i] = rows[1][which[i]];
        }
        return Batch.of(tokens, labels);
    }

    /** Completion tokens of each row after the causal shift (those the log-probability sums). */
    private static long[] completionTokens(int[][][] rows) {
        long[] counts = new long[rows[1].length];
        for (int r = 0; r < counts.length; r++) {
            for (int t = 1; t < LEN; t++) {
                counts[r] += rows[1][r][t] != -100 ? 1 : 0;
            }
        }
        return counts;
    }

    /** DPO over the pairs of a batch laid out chosen then rejected: the mean loss and d(mean loss)/d(policy log p). */
    private record Objective(double loss, double[] coefficients) {
        static Objective of(DpoLoss dpo, double[] policy, double[] reference, long[] tokens) {
            int pairs = policy.length / 2;
            double loss = 0;
            double[] c = new double[policy.length];
            for (int i = 0; i < pairs; i++) {
                DpoLoss.PairLoss p = dpo.pair(policy[i], policy[pairs + i], reference[i], reference[pairs + i],
                        tokens[i], tokens[pairs + i]);
                loss += p.loss() / pairs;
                c[i] = p.dChosen() / pairs;
                c[pairs + i] = p.dRejected() / pairs;
            }
            return new Objective(loss, c);
        }
    }

    @ParameterizedTest
    @CsvSource({
        // loss, beta, checkpointing, micro-batches (of one pair each, or one of all pairs)
        "SIGMOID, 0.1, OFF, 1",
        "SIGMOID, 0.1, OFFLOADED, 2",
        "IPO, 0.5, ON, 1",
        "HINGE, 0.01, ON, 2",
    })
    void dpoLossAndLoraGradientsMatchTheCpuEngine(DpoLossType type, double beta, Checkpointing mode, int micro) {
        ModelConfig c = TestConfigs.tiny(0);
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.05, seed, arena));
        LoraAdapters cpu = randomAdapters(c);
        DpoLoss dpo = new DpoLoss(type, beta, 0);
        int[][][] data = preferenceRows(PAIRS, c.vocabSize());
        long[] tokens = completionTokens(data);
        Batch all = rows(data, 0, 1, 2, 3);
        String what = type + " beta " + beta + ", checkpointing " + mode + ", " + micro + " micro-batches, seed "
                + seed;

        double[] cpuReference, cpuPolicy;
        cpu.zeroGradients();
        try (CpuCausalLm model = new CpuCausalLm(c, w, cpu, new CpuOps(), 2 * PAIRS, LEN, false)) {
            model.setAdaptersEnabled(false);
            cpuReference = model.forwardSequenceLogProbs(all);
            model.setAdaptersEnabled(true);
            cpuPolicy = model.forwardSequenceLogProbs(all);
            model.backward(Objective.of(dpo, cpuPolicy, cpuReference, tokens).coefficients());
        }
        Objective cpuObjective = Objective.of(dpo, cpuPolicy, cpuReference, tokens);

        double[] gpuReference = new double[2 * PAIRS], gpuPolicy = new double[2 * PAIRS];
        LoraAdapters gpu = new LoraAdapters(c, TestConfigs.LORA, arena);
        int rowsPerMicro = 2 * PAIRS / micro, pairsPerMicro = PAIRS / micro;
        try (GpuCausalLm model = GpuCausalLm.create(context(), c, w, TestConfigs.LORA,
                new StepShape(rowsPerMicro, LEN, micro), mode)) {
            model.loadAdapters(cpu);
            model.zeroGradients();
            for (int m = 0; m < micro; m++) {
                // micro-batch m: its pairs' chosen rows, then their rejected rows (as the whole batch lays them out)
                int[] batchRows = new int[rowsPerMicro];
                for (int i = 0; i < pairsPerMicro; i++) {
                    batchRows[i] = m * pairsPerMicro + i;
                    batchRows[pairsPerMicro + i] = PAIRS + m * pairsPerMicro + i;
                }
                Batch b = rows(data, batchRows);
                double[] reference = model.referenceLogProbs(b);
                double[] policy = model.forwardSequenceLogProbs(b);
                double[] coefficients = new double[rowsPerMicro];
                for (int i = 0; i < rowsPerMicro; i++) {
                    gpuReference[batchRows[i]] = reference[i];
                    gpuPolicy[batchRows[i]] = policy[i];
                    coefficients[i] = cpuObjective.coefficients()[batchRows[i]];
                }
                model.backward(coefficients);
            }
            model.storeGradients(gpu);
        }

        double adapterEffect = 0;
        for (int r = 0; r < 2 * PAIRS; r++) {
            double referenceTolerance = LOSS_RTOL * Math.abs(cpuReference[r]);
            assertClose(what + ": reference (adapters off) log p of row " + r, cpuReference[r], gpuReference[r],
                    referenceTolerance);
            assertClose(what + ": policy log p of row " + r, cpuPolicy[r], gpuPolicy[r],
                    LOSS_RTOL * Math.abs(cpuPolicy[r]));
            adapterEffect = Math.max(adapterEffect, Math.abs(cpuPolicy[r] - cpuReference[r]) / referenceTolerance);
        }
        // The adapters must move some row's log p by more than the tolerance, or a reference that kept them
        // would pass.
        assertTrue(adapterEffect > 1, what + ": the adapters move log p by at most " + adapterEffect
                + " times the tolerance; the test could not tell the reference from the policy");
        double lossTolerance = 0;
        for (int r = 0; r < 2 * PAIRS; r++) {
            double dLoss = Math.abs(cpuObjective.coefficients()[r]);
            lossTolerance += dLoss * LOSS_RTOL * (Math.abs(cpuPolicy[r]) + Math.abs(cpuReference[r]));
        }
        double gpuLoss = Objective.of(dpo, gpuPolicy, gpuReference, tokens).loss();
        assertClose(what + ": DPO loss", cpuObjective.loss(), gpuLoss, lossTolerance);
        assertGradientsMatch(what, cpu, gpu);
    }

    /** DPO steps, with the optimizer, reuse the planned memory: the context's allocation count does not move. */
    @Test
    void dpoStepsAllocateNoDeviceMemory() {
        ModelConfig c = TestConfigs.tiny(0);
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.05, seed, arena));
        Batch b = rows(preferenceRows(PAIRS, c.vocabSize()), 0, 1, 2, 3);
        Context context = context();
        try (GpuCausalLm model = GpuCausalLm.create(context, c, w, TestConfigs.LORA,
                new StepShape(2 * PAIRS, LEN, 1), Checkpointing.OFFLOADED)) {
            model.loadAdapters(randomAdapters(c));
            long before = context.allocationCount();
            AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(1e-4, 0.9, 0.999, 1e-8, 0);
            for (int step = 0; step < 3; step++) {
                model.zeroGradients();
                model.referenceLogProbs(b);
                model.forwardSequenceLogProbs(b);
                model.backward(new double[] {-0.05, -0.05, 0.05, 0.05});
                model.update(hyper, model.gradientNorm(1f));
            }
            assertEquals(before, context.allocationCount(), "device allocations during 3 DPO steps");
        }
    }

    /** backward(coefficients) needs the policy forward just before it, and one coefficient per row. */
    @Test
    void aBackwardWithoutItsPolicyForwardIsRefused() {
        ModelConfig c = TestConfigs.tiny(0);
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.05, seed, arena));
        Batch b = rows(preferenceRows(PAIRS, c.vocabSize()), 0, 1, 2, 3);
        double[] four = new double[4];
        Arrays.fill(four, 0.1);
        try (GpuCausalLm model = GpuCausalLm.create(context(), c, w, TestConfigs.LORA,
                new StepShape(2 * PAIRS, LEN, 1), Checkpointing.ON)) {
            assertThrows(IllegalStateException.class, () -> model.backward(four), "backward before any forward");
            model.forwardSequenceLogProbs(b);
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> model.backward(new double[3]));
            assertTrue(count.getMessage().contains("3 row coefficients for a batch of 4 rows"), count.getMessage());
            model.referenceLogProbs(b);
            IllegalStateException afterReference = assertThrows(IllegalStateException.class,
                    () -> model.backward(four));
            assertTrue(afterReference.getMessage().contains("needs forwardSequenceLogProbs() just before it"),
                    afterReference.getMessage());
            model.forwardSequenceLogProbs(b);
            model.backward(four);
            if (!Float.isFinite(model.gradientNorm(0f))) {
                fail("gradient norm not finite after a DPO backward, seed " + seed);
            }
        }
    }
}

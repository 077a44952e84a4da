package org.jtune.api;

import org.jtune.cuda.GpuTest;
import org.jtune.model.Batch;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.testing.TestFixture;
import org.jtune.train.ListBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.jtune.api.ResumeChecks.compareMoments;
import static org.jtune.api.ResumeChecks.optimizerStep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GPU SFT run interrupted after step {@value #K} and resumed from its checkpoint against the same run left
 * uninterrupted, with the model, data and settings of {@link SftTrainerGpuTest} (tiny bf16 Llama, r 16 on all
 * projections, 2 micro-batches of 2 rows x 64 tokens, AdamW with weight decay, clipping, linear warm-up and decay).
 *
 * <p>Not bit for bit: the attention backward sums with atomics, so two GPU runs differ in the last bits. Every step
 * loss must agree within 4u of the first step's loss (u = 2^-8, bf16 activations), as in SftTrainerGpuTest; the
 * optimizer step counts in both final checkpoints must be exactly {@value #STEPS}; and both final AdamW moments must
 * agree per tensor within 10% relative L2 distance. A resume that restarted the moments would lose the first
 * {@value #K} steps' share of them (for the first moment 0.9^6, about half of its weight; for the second, the
 * early steps with the largest gradients), far beyond that. A norm is used rather than per-element bounds because
 * single moment elements of noisy gradients can differ by more than their size between two GPU runs.
 */
@GpuTest
class SftTrainerGpuResumeTest extends TestFixture {
    private static final double U = 0x1p-8;
    private static final int STEPS = 12;
    private static final int K = 6;
    private static final double MOMENT_TOLERANCE = 0.1;
    private static final ModelConfig CONFIG = TinyGpuLlama.CONFIG;

    /** Losses of every step a run reports; throws after recording step {@code stopAfter} + 1, if set. */
    private static final class Curve implements TrainingListener {
        final List<Double> steps = new ArrayList<>();
        private final long stopAfter;

        Curve(long stopAfter) {
            this.stopAfter = stopAfter;
        }

        @Override
        public void onStep(StepProgress progress) {
            steps.add(progress.loss());
            // The step after the checkpoint has updated the device, but no checkpoint holds it: a run killed here.
            if (progress.step() == stopAfter + 1) {
                throw new ResumeChecks.Interruption();
            }
        }
    }

    @Test
    void aResumedGpuRunFollowsTheUninterruptedOne() throws IOException {
        LanguageModel base = new LanguageModel(CONFIG, RandomWeights.create(CONFIG, DType.BF16, 0.05, seed, arena),
                64, null);
        List<Batch> train = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            train.add(patternBatch(2, 64));
        }
        Path fullOut = temp.resolve("full"), cutOut = temp.resolve("cut");
        Curve full = new Curve(-1), cut = new Curve(K), resumed = new Curve(-1);
        try (PeftModel a = peft(base); PeftModel b = peft(base); PeftModel c = peft(base)) {
            TrainResult r = trainer(a, train, fullOut).addListener(full).train();
            assertEquals(STEPS, r.globalStep(), "seed " + seed);
            assertThrows(ResumeChecks.Interruption.class, () -> trainer(b, train, cutOut).addListener(cut).train(),
                    "seed " + seed);
            // a fresh model whose adapters are PEFT's initialisation until the checkpoint replaces them
            TrainResult rr = trainer(c, train, cutOut).addListener(resumed).train(cutOut.resolve("checkpoint-" + K));
            assertEquals(STEPS, rr.globalStep(), "seed " + seed);
        }

        String what = "seed " + seed + ", full " + full.steps + ", cut " + cut.steps + ", resumed " + resumed.steps;
        assertEquals(STEPS, full.steps.size(), what);
        assertEquals(K + 1, cut.steps.size(), what);
        assertEquals(STEPS - K, resumed.steps.size(), what);
        List<Double> continued = new ArrayList<>(cut.steps.subList(0, K));
        continued.addAll(resumed.steps);
        double tolerance = 4 * U * full.steps.get(0);
        for (int s = 0; s < STEPS; s++) {
            double gap = Math.abs(continued.get(s) - full.steps.get(s));
            assertTrue(gap <= tolerance, "step " + (s + 1) + " loss " + continued.get(s) + " (interrupted at " + K
                    + ", resumed) vs " + full.steps.get(s) + " uninterrupted (tolerance " + tolerance + "); " + what);
        }
        assertTrue(full.steps.get(STEPS - 1) < full.steps.get(0), "training did not lower the loss; " + what);

        assertEquals(Integer.toString(K), optimizerStep(cutOut.resolve("checkpoint-" + K)), what);
        assertEquals(Integer.toString(STEPS), optimizerStep(fullOut.resolve("checkpoint-" + STEPS)), what);
        assertEquals(Integer.toString(STEPS), optimizerStep(cutOut.resolve("checkpoint-" + STEPS)), what);
        compareMoments(fullOut.resolve("checkpoint-" + STEPS), cutOut.resolve("checkpoint-" + STEPS), MOMENT_TOLERANCE,
                what);
    }

    private SftTrainer trainer(PeftModel peft, List<Batch> train, Path out) {
        SftTrainer trainer = new SftTrainer(peft, new ListBatchSource<>(train, true), null, arguments(out),
                Backend.gpu());
        assertTrue(trainer.placement().startsWith("the GPU"), trainer.placement());
        return trainer;
    }

    private TrainingArguments arguments(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(STEPS).learningRate(2e-3).warmupSteps(3).lrSchedulerType("linear").weightDecay(0.01)
                .maxGradNorm(1.0).seed(seed).loggingSteps(4).saveSteps(K).gradientCheckpointing(true)
                .progressBar(false).build();
    }

    /** Rows counting up from a random token (a pattern LoRA can learn), every label kept. */
    private Batch patternBatch(int rows, int len) {
        int[][] tokens = new int[rows][len];
        for (int b = 0; b < rows; b++) {
            int start = rnd.nextInt(CONFIG.vocabSize());
            for (int t = 0; t < len; t++) {
                tokens[b][t] = (start + t) % CONFIG.vocabSize();
            }
        }
        return Batch.of(tokens, tokens);
    }

    private PeftModel peft(LanguageModel base) {
        return TinyGpuLlama.peft(base, seed);
    }
}

package org.jtune.api;

import org.jtune.cuda.GpuTest;
import org.jtune.data.PreferenceDataset;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.testing.TestFixture;
import org.jtune.train.DpoArguments;
import org.jtune.train.PreferenceBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
 * A GPU DPO run interrupted after step {@value #K} and resumed from its checkpoint against the same run left
 * uninterrupted, with the model, pairs and settings of {@link DpoTrainerGpuTest} (tiny bf16 Llama, r 16 on all
 * projections, 2 micro-batches of 2 pairs per step, AdamW with weight decay, clipping, gradient checkpointing), the
 * reference log-probabilities computed in every step or precomputed (the resumed run precomputes them again).
 *
 * <p>Not bit for bit: the attention backward sums with atomics, so two GPU runs differ in the last bits. Every
 * step's loss and metrics must agree within the tolerances DpoTrainerGpuTest derives for a GPU run against the CPU's
 * (bf16 rounding, doubled for drift); the optimizer step counts in the checkpoints must be exact; and both final
 * AdamW moments must agree per tensor within 10% relative L2 distance. A resume that restarted the moments would
 * lose the first {@value #K} steps' share of them (for the first moment 0.9^6, about half of its weight), far
 * beyond that; one that restarted the adapters would start again from a zero margin, far beyond the margin's
 * tolerance after {@value #K} steps of learning.
 */
@GpuTest
class DpoTrainerGpuResumeTest extends TestFixture {
    private static final int STEPS = 12, K = 6, TRAIN_PAIRS = 8, MAX_LENGTH = 64;
    private static final double MOMENT_TOLERANCE = 0.1;
    private static final ModelConfig CONFIG = TinyGpuLlama.CONFIG;

    /** Every step's log line (logging every step); stops the run after step {@code stopAfter} + 1, if set. */
    private static final class Logs implements TrainingListener {
        final List<TrainLog> steps = new ArrayList<>();
        private final long stopAfter;

        Logs(long stopAfter) {
            this.stopAfter = stopAfter;
        }

        @Override
        public void onStep(StepProgress progress) {
            // The step after the checkpoint has updated the device, but no checkpoint holds it: a run killed here.
            if (progress.step() == stopAfter + 1) {
                throw new ResumeChecks.Interruption();
            }
        }

        @Override
        public void onLog(TrainLog log) {
            steps.add(log);
        }
    }

    @ParameterizedTest(name = "precompute_ref_log_probs {0}")
    @ValueSource(booleans = {false, true})
    void aResumedGpuDpoRunFollowsTheUninterruptedOne(boolean precompute) throws IOException {
        LanguageModel base = new LanguageModel(CONFIG, RandomWeights.create(CONFIG, DType.BF16, 0.05, seed, arena),
                MAX_LENGTH, null);
        PreferenceDataset pairs = pairs(TRAIN_PAIRS);
        DpoArguments dpo = DpoArguments.defaults().withBeta(DpoRunComparison.BETA)
                .withPrecomputeRefLogProbs(precompute);
        Path fullOut = temp.resolve("full"), cutOut = temp.resolve("cut");
        Logs full = new Logs(-1), cut = new Logs(K), resumed = new Logs(-1);
        try (PeftModel a = peft(base); PeftModel b = peft(base); PeftModel c = peft(base)) {
            TrainResult r = trainer(a, pairs, fullOut, dpo).addListener(full).train();
            assertEquals(STEPS, r.globalStep(), "seed " + seed);
            assertThrows(ResumeChecks.Interruption.class,
                    () -> trainer(b, pairs, cutOut, dpo).addListener(cut).train(), "seed " + seed);
            // a fresh model whose adapters are PEFT's initialisation until the checkpoint replaces them
            TrainResult rr = trainer(c, pairs, cutOut, dpo).addListener(resumed)
                    .train(cutOut.resolve("checkpoint-" + K));
            assertEquals(STEPS, rr.globalStep(), "seed " + seed);
        }

        String what = "seed " + seed + ", precompute " + precompute;
        assertEquals(STEPS, full.steps.size(), what);
        assertEquals(K, cut.steps.size(), what);
        assertEquals(STEPS - K, resumed.steps.size(), what);
        List<TrainingListener.TrainLog> continued = new ArrayList<>(cut.steps);
        continued.addAll(resumed.steps);
        for (int s = 0; s < STEPS; s++) {
            TrainingListener.TrainLog expected = full.steps.get(s), actual = continued.get(s);
            assertEquals(expected.step(), actual.step(), what);
            DpoRunComparison.assertFollows("step " + (s + 1) + " (interrupted at " + K + ", resumed) against the"
                    + " uninterrupted run, " + what, expected.loss(), expected.metrics(), actual.loss(),
                    actual.metrics());
        }
        double firstMargin = full.steps.get(0).metrics().get("rewards/margins");
        double lastMargin = full.steps.get(STEPS - 1).metrics().get("rewards/margins");
        assertTrue(lastMargin > firstMargin + 1, "the run did not learn: margin " + firstMargin + " -> " + lastMargin
                + "; " + what);

        assertEquals(Integer.toString(K), optimizerStep(cutOut.resolve("checkpoint-" + K)), what);
        assertEquals(Integer.toString(STEPS), optimizerStep(fullOut.resolve("checkpoint-" + STEPS)), what);
        assertEquals(Integer.toString(STEPS), optimizerStep(cutOut.resolve("checkpoint-" + STEPS)), what);
        compareMoments(fullOut.resolve("checkpoint-" + STEPS), cutOut.resolve("checkpoint-" + STEPS), MOMENT_TOLERANCE,
                what);
    }

    private DpoTrainer trainer(PeftModel peft, PreferenceDataset pairs, Path out, DpoArguments dpo) {
        TrainingArguments args = arguments(out);
        DpoTrainer trainer = new DpoTrainer(peft, new PreferenceBatchSource(pairs, args.perDeviceTrainBatchSize(),
                true), null, args, dpo, Backend.gpu());
        assertTrue(trainer.placement().startsWith("the GPU"), trainer.placement());
        return trainer;
    }

    /** DpoTrainerGpuTest's settings, with a checkpoint every {@value #K} steps and no eval split. */
    private TrainingArguments arguments(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(STEPS).learningRate(5e-4).warmupSteps(0).lrSchedulerType("constant").weightDecay(0.01)
                .maxGradNorm(1.0).seed(seed).loggingSteps(1).saveSteps(K).gradientCheckpointing(true)
                .progressBar(false).build();
    }

    private PreferenceDataset pairs(int n) {
        return TinyGpuLlama.countingPairs(rnd, n);
    }

    private PeftModel peft(LanguageModel base) {
        return TinyGpuLlama.peft(base, seed);
    }
}

package org.jtune.api;

import org.jtune.cuda.GpuTest;
import org.jtune.data.PreferenceDataset;
import org.jtune.io.SafetensorsFile;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.testing.TestFixture;
import org.jtune.train.AdapterFiles;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO through {@link DpoTrainer} on the GPU against the same run on the CPU: the tiny model of SftTrainerGpuTest
 * (hidden 256 = 4 heads x 64, 2 kv heads, 2 layers, vocab 1000, bf16 weights of standard deviation 0.05), r 16 /
 * alpha 32 on all projections from PEFT's initialisation with A rounded to bf16 (so both engines start from the same
 * matrices), 2 micro-batches of 2 pairs per step, AdamW with weight decay, clipping at 1, gradient checkpointing and
 * an eval split; the reference log-probabilities computed in every step, or precomputed before the first. Chosen
 * completions count up from the prompt's last token (a pattern LoRA can learn), rejected ones are random tokens.
 *
 * <p>Tolerances. The GPU keeps bf16 activations (u = 2^-8); GpuDpoGpuTest allows a row's summed log p u/2 of itself.
 * Every log p here is negative, so the mean of |log p| over a step's pairs is |the logged mean|: the logged
 * {@code logps/*} are allowed u/2 of themselves, a reward beta·(log p - log p_ref) beta·u/2·(|mean log p| + |mean
 * log p_ref|) (log p_ref = log p - reward/beta), a margin the sum of its two rewards' tolerances, and the sigmoid
 * loss, whose derivative by a pair's margin is at most 1, the margin's. The runs drift apart as the adapters take
 * different updates, so every tolerance is doubled (on the CPU, adapters perturbed by u/2 move the rewards by under
 * a tenth of the undoubled tolerance over these steps). The margin grows by about 0.3 a step to over 3 against a
 * tolerance under 0.4: a wrong reference (adapters left on), sign or beta, or a learning rate off by a factor of two,
 * moves it by more.
 */
@GpuTest
class DpoTrainerGpuTest extends TestFixture {
    private static final double BETA = DpoRunComparison.BETA;
    private static final int STEPS = 12, TRAIN_PAIRS = 8, EVAL_PAIRS = 4, MAX_LENGTH = 64;
    private static final ModelConfig CONFIG = TinyGpuLlama.CONFIG;

    /** Every step's log line (logging every step) and every evaluation of a run. */
    private static final class Logs implements TrainingListener {
        final List<TrainLog> steps = new ArrayList<>();
        final List<EvalLog> evals = new ArrayList<>();

        @Override
        public void onLog(TrainLog log) {
            steps.add(log);
        }

        @Override
        public void onEval(EvalLog log) {
            evals.add(log);
        }
    }

    @ParameterizedTest(name = "precompute_ref_log_probs {0}")
    @ValueSource(booleans = {false, true})
    void dpoStepsOnTheGpuFollowTheCpuRun(boolean precompute) throws IOException {
        LanguageModel base = new LanguageModel(CONFIG, RandomWeights.create(CONFIG, DType.BF16, 0.05, seed, arena),
                MAX_LENGTH, null);
        PreferenceDataset train = pairs(TRAIN_PAIRS), eval = pairs(EVAL_PAIRS);
        DpoArguments dpo = DpoArguments.defaults().withBeta(BETA).withPrecomputeRefLogProbs(precompute);
        Logs cpu = new Logs(), gpu = new Logs();
        Path gpuOut = temp.resolve("gpu");
        float[][] gpuTrained;
        try (PeftModel cpuPeft = peft(base); PeftModel gpuPeft = peft(base)) {
            trainer(cpuPeft, train, eval, arguments(temp.resolve("cpu")), dpo, Backend.cpu("reference"))
                    .addListener(cpu).train();
            DpoTrainer gpuTrainer = trainer(gpuPeft, train, eval, arguments(gpuOut), dpo, Backend.gpu());
            assertTrue(gpuTrainer.placement().startsWith("the GPU"), gpuTrainer.placement());
            TrainResult r = gpuTrainer.addListener(gpu).train();
            assertEquals(STEPS, r.globalStep(), "seed " + seed);
            gpuTrained = values(gpuPeft.adapters());

            String what = "precompute " + precompute + ", seed " + seed;
            assertEquals(STEPS, cpu.steps.size(), what);
            assertEquals(STEPS, gpu.steps.size(), what);
            for (int s = 0; s < STEPS; s++) {
                DpoRunComparison.assertFollows("step " + (s + 1) + ", " + what, cpu.steps.get(s).loss(), cpu.steps.get(s).metrics(),
                        gpu.steps.get(s).loss(), gpu.steps.get(s).metrics());
            }
            assertEquals(cpu.evals.size(), gpu.evals.size(), "evaluations; " + what);
            assertFalse(cpu.evals.isEmpty(), "no evaluation ran; " + what);
            for (int e = 0; e < cpu.evals.size(); e++) {
                DpoRunComparison.assertFollows("evaluation " + e + ", " + what, cpu.evals.get(e).loss(), cpu.evals.get(e).metrics(),
                        gpu.evals.get(e).loss(), gpu.evals.get(e).metrics());
            }
            assertLearns("CPU, " + what, cpu, cpu);
            assertLearns("GPU, " + what, cpu, gpu);
        }
        // The last checkpoint holds the adapters the run ended with, copied back from the device, and the optimizer
        // state of all its steps (DpoTrainerGpuResumeTest resumes from it).
        Path last = gpuOut.resolve("checkpoint-" + STEPS);
        try (SafetensorsFile optimizer = SafetensorsFile.open(last.resolve("optimizer.safetensors"))) {
            assertEquals(Integer.toString(STEPS), optimizer.metadata().get("step"), "seed " + seed);
        }
        LoraAdapters saved = AdapterFiles.load(last, CONFIG, arena);
        float[][] savedValues = values(saved);
        for (int t = 0; t < gpuTrained.length; t++) {
            assertArrayEquals(gpuTrained[t], savedValues[t], 0f, saved.names().get(t) + ", seed " + seed);
        }
    }

    /**
     * The chosen completions come to be preferred. The first step's policy is the reference (B is zero), so the CPU
     * ranks no pair right there; by the last 4 steps both runs rank at least 3 in 4 right, and the margin has grown
     * by more than 1 (several times its tolerance).
     */
    private static void assertLearns(String what, Logs cpu, Logs run) {
        double firstAccuracy = cpu.steps.get(0).metrics().get("rewards/accuracies");
        assertEquals(0.0, firstAccuracy, what + ": CPU accuracy of the first step, where the policy is the reference");
        double firstMargin = run.steps.get(0).metrics().get("rewards/margins");
        double lastAccuracy = 0, lastMargin = 0;
        for (int s = STEPS - 4; s < STEPS; s++) {
            lastAccuracy += run.steps.get(s).metrics().get("rewards/accuracies") / 4;
            lastMargin += run.steps.get(s).metrics().get("rewards/margins") / 4;
        }
        String curve = what + ": accuracy " + firstAccuracy + " (CPU, first step) -> " + lastAccuracy
                + " (mean of the last 4 steps), margin " + firstMargin + " -> " + lastMargin;
        assertTrue(lastAccuracy >= 0.75, curve);
        assertTrue(lastMargin > firstMargin + 1, curve);
    }

    private DpoTrainer trainer(PeftModel peft, PreferenceDataset train, PreferenceDataset eval, TrainingArguments args,
                               DpoArguments dpo, Backend backend) {
        return new DpoTrainer(peft, new PreferenceBatchSource(train, args.perDeviceTrainBatchSize(), true),
                new PreferenceBatchSource(eval, args.perDeviceTrainBatchSize(), false), args, dpo, backend);
    }

    private TrainingArguments arguments(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(STEPS).learningRate(5e-4).warmupSteps(0).lrSchedulerType("constant").weightDecay(0.01)
                .maxGradNorm(1.0).seed(seed).loggingSteps(1).evalSteps(6).saveSteps(STEPS)
                .gradientCheckpointing(true).progressBar(false).build();
    }

    private static float[][] values(LoraAdapters lora) {
        float[][] v = new float[lora.names().size()][];
        for (int t = 0; t < v.length; t++) {
            v[t] = lora.tensor(lora.names().get(t)).toFloatArray();
        }
        return v;
    }

    private PreferenceDataset pairs(int n) {
        return TinyGpuLlama.countingPairs(rnd, n);
    }

    private PeftModel peft(LanguageModel base) {
        return TinyGpuLlama.peft(base, seed);
    }
}

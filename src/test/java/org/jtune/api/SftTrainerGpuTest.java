package org.jtune.api;

import org.jtune.cuda.GpuTest;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.testing.TestFixture;
import org.jtune.train.AdapterFiles;
import org.jtune.train.ListBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SFT through {@link SftTrainer} on the GPU against the same run on the CPU: a tiny model (hidden 256 = 4 heads x
 * 64, 2 kv heads, intermediate 512, vocab 1000, 2 layers, bf16 weights), r 16 on all projections from PEFT's
 * initialisation with A rounded to bf16 (so both engines start from the same matrices), 2 micro-batches of 2 rows
 * x 64 tokens per step, AdamW with weight decay, clipping at 1, linear warm-up and decay, and an eval split.
 *
 * <p>Tolerances as in the GPU step's test (GpuCausalLmGpuTest): the GPU keeps bf16 activations (u = 2^-8), the
 * CPU fp32; the loss of every step and every evaluation is allowed 4u of the first step's loss. A wrong learning
 * rate, accumulation or clipping moves the curve apart by much more within these steps.
 */
@GpuTest
class SftTrainerGpuTest extends TestFixture {
    private static final double U = 0x1p-8;
    private static final int STEPS = 24;
    private static final ModelConfig CONFIG = TinyGpuLlama.CONFIG;

    /** Losses of every step and evaluation a run reports. */
    private static final class Curve implements TrainingListener {
        final List<Double> steps = new ArrayList<>(), evals = new ArrayList<>();

        @Override
        public void onStep(StepProgress progress) {
            steps.add(progress.loss());
        }

        @Override
        public void onEval(EvalLog log) {
            evals.add(log.loss());
        }
    }

    @Test
    void sftStepsOnTheGpuFollowTheCpuRun() throws IOException {
        LanguageModel base = new LanguageModel(CONFIG, RandomWeights.create(CONFIG, DType.BF16, 0.05, seed, arena),
                64, null);
        List<Batch> train = new ArrayList<>(), eval = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            train.add(patternBatch(2, 64));
        }
        for (int i = 0; i < 2; i++) {
            eval.add(patternBatch(2, 64));
        }
        Curve cpu = new Curve(), gpu = new Curve();
        Path gpuOut = temp.resolve("gpu");
        float[][] gpuTrained;
        try (PeftModel cpuPeft = peft(base); PeftModel gpuPeft = peft(base)) {
            run(cpuPeft, train, eval, temp.resolve("cpu"), Backend.cpu("reference"), cpu);
            SftTrainer gpuTrainer = new SftTrainer(gpuPeft, new ListBatchSource<>(train, true),
                    new ListBatchSource<>(eval, false), arguments(gpuOut), Backend.gpu());
            assertTrue(gpuTrainer.placement().startsWith("the GPU"), gpuTrainer.placement());
            TrainResult r = gpuTrainer.addListener(gpu).train();
            assertEquals(STEPS, r.globalStep(), "seed " + seed);
            gpuTrained = values(gpuPeft.adapters());

            String what = "seed " + seed + ", curve cpu " + cpu.steps + " gpu " + gpu.steps;
            assertEquals(STEPS, cpu.steps.size(), what);
            assertEquals(STEPS, gpu.steps.size(), what);
            double first = cpu.steps.get(0), tolerance = 4 * U * first;
            for (int s = 0; s < STEPS; s++) {
                assertTrue(Math.abs(gpu.steps.get(s) - cpu.steps.get(s)) <= tolerance,
                        "step " + (s + 1) + " loss GPU " + gpu.steps.get(s) + " vs CPU " + cpu.steps.get(s)
                                + " (tolerance " + tolerance + "); " + what);
            }
            assertTrue(cpu.steps.get(STEPS - 1) < first - 1, "training did not lower the loss by 1; " + what);
            assertEquals(cpu.evals.size(), gpu.evals.size(), "evaluations; " + what);
            assertFalse(cpu.evals.isEmpty(), "no evaluation ran; " + what);
            for (int e = 0; e < cpu.evals.size(); e++) {
                assertTrue(Math.abs(gpu.evals.get(e) - cpu.evals.get(e)) <= tolerance, "eval " + e + " loss GPU "
                        + gpu.evals.get(e) + " vs CPU " + cpu.evals.get(e) + "; seed " + seed);
            }
        }
        // The last checkpoint holds the adapters the run ended with, copied back from the device, and the optimizer
        // state that a resume restores (see SftTrainerGpuResumeTest).
        Path last = gpuOut.resolve("checkpoint-" + STEPS);
        assertTrue(Files.exists(last.resolve("optimizer.safetensors")), "a GPU checkpoint without optimizer state");
        LoraAdapters saved = AdapterFiles.load(last, CONFIG, arena);
        float[][] savedValues = values(saved);
        for (int t = 0; t < gpuTrained.length; t++) {
            assertArrayEquals(gpuTrained[t], savedValues[t], 0f, saved.names().get(t) + ", seed " + seed);
        }
    }

    private void run(PeftModel peft, List<Batch> train, List<Batch> eval, Path out, Backend backend,
                     Curve curve) throws IOException {
        new SftTrainer(peft, new ListBatchSource<>(train, true), new ListBatchSource<>(eval, false),
                arguments(out), backend).addListener(curve).train();
    }

    private TrainingArguments arguments(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(STEPS).learningRate(2e-3).warmupSteps(3).lrSchedulerType("linear").weightDecay(0.01)
                .maxGradNorm(1.0).seed(seed).loggingSteps(4).evalSteps(8).saveSteps(12).gradientCheckpointing(true)
                .progressBar(false).build();
    }

    private static float[][] values(LoraAdapters lora) {
        float[][] v = new float[lora.names().size()][];
        for (int t = 0; t < v.length; t++) {
            v[t] = lora.tensor(lora.names().get(t)).toFloatArray();
        }
        return v;
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

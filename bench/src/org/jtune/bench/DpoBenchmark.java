package org.jtune.bench;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuCausalLm;
import org.jtune.model.gpu.StepShape;
import org.jtune.train.DpoLoss;
import org.jtune.train.DpoLossType;

/**
 * The DPO training step on the GPU at the Llama-3-8B shape with random weights, as bench/peer/dpo_peer.py runs
 * transformers + PEFT: bf16 base, LoRA r = 16, alpha 16 on all seven projections, gradient checkpointing on,
 * 2 pairs x 1024 tokens (chosen and rejected rows in one batch of 4, a 256-token prompt without labels), the
 * reference forward with the adapters off, the sigmoid loss (beta 0.1), AdamW, clipping at 1. Records tokens
 * per second (all 4 x 1024 tokens of a step) and the step's planned device memory.
 */
final class DpoBenchmark implements BenchMain.Benchmark {
    private static final int WARMUP_STEPS = 2, TIMED_STEPS = 5;
    private static final int PAIRS = 2, SEQ_LEN = 1024, PROMPT = 256;
    private static final DpoLoss LOSS = new DpoLoss(DpoLossType.SIGMOID, 0.1, 0);

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        Context context = Context.primary(Device.get(0));
        ModelConfig c = TrainBenchmark.config("LlamaForCausalLM", "llama", 128256, 14336, 8, 8192, 500000, "");
        String prefix = "dpo.llama3_8b.bf16.gc.";
        try (Arena arena = Arena.ofShared()) {
            ModelWeights weights = ModelWeights.load(c, TrainBenchmark.sharedRandomWeights(c, arena));
            try (GpuCausalLm model = GpuCausalLm.create(context, c, weights, TrainBenchmark.LORA,
                    new StepShape(2 * PAIRS, SEQ_LEN, 1), Checkpointing.ON)) {
                System.out.println(prefix + " " + model.memoryReport());
                LoraAdapters adapters = new LoraAdapters(c, TrainBenchmark.LORA, arena);
                adapters.initPeftDefault(1);
                model.loadAdapters(adapters);
                Batch batch = batch(c.vocabSize());
                AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(1e-4, 0.9, 0.999, 1e-8, 0.0);
                for (int i = 0; i < WARMUP_STEPS; i++) {
                    step(model, batch, hyper);
                }
                long start = System.nanoTime();
                for (int i = 0; i < TIMED_STEPS; i++) {
                    step(model, batch, hyper);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                return List.of(
                        records.make(prefix + "tokens_per_s", TIMED_STEPS * batch.tokenCount() / seconds, "tokens/s",
                                true),
                        records.make(prefix + "peak_gib", model.memoryPlan().totalBytes() / TrainBenchmark.GIB,
                                "GiB", false));
            }
        }
    }

    /**
     * One DPO step: reference and policy log-probabilities, the loss's row coefficients, backward, clipped
     * update. The log-probabilities are read on the host (the loss needs them), so each step waits for the device.
     */
    private static void step(GpuCausalLm model, Batch batch, AdamWKernels.Hyper hyper) {
        model.zeroGradients();
        double[] reference = model.referenceLogProbs(batch);
        double[] policy = model.forwardSequenceLogProbs(batch);
        double[] coefficients = new double[2 * PAIRS];
        for (int i = 0; i < PAIRS; i++) {
            DpoLoss.PairLoss pair = LOSS.pair(policy[i], policy[PAIRS + i], reference[i], reference[PAIRS + i],
                    0, 0);
            coefficients[i] = pair.dChosen() / PAIRS;
            coefficients[PAIRS + i] = pair.dRejected() / PAIRS;
        }
        model.backward(coefficients);
        model.update(hyper, model.gradientNorm(1f));
    }

    /** Random tokens; chosen rows then rejected rows sharing each pair's prompt, labels on the completion only. */
    private static Batch batch(int vocab) {
        SplittableRandom random = new SplittableRandom(7);
        int[][] tokens = new int[2 * PAIRS][SEQ_LEN], labels = new int[2 * PAIRS][SEQ_LEN];
        for (int row = 0; row < 2 * PAIRS; row++) {
            for (int t = 0; t < SEQ_LEN; t++) {
                tokens[row][t] = t < PROMPT && row >= PAIRS ? tokens[row - PAIRS][t] : random.nextInt(vocab);
                labels[row][t] = t < PROMPT ? -100 : tokens[row][t];
            }
        }
        return Batch.of(tokens, labels);
    }
}

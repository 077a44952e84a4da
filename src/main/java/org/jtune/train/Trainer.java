package org.jtune.train;

import org.jtune.model.Batch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.ops.Ops;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Supervised fine-tuning of the LoRA adapters of a model: micro-batches from a {@link BatchSource}, gradient
 * accumulation over all labelled tokens of a step ({@link GradientAccumulation}), clipping, AdamW with a
 * transformers learning-rate schedule, periodic evaluation, logging (console, {@code metrics.jsonl}, a loss-curve
 * PNG at the end) and atomic checkpoints that {@link #resume} continues bit for bit on the CPU.
 */
public final class Trainer {
    private final TrainingLoop<Batch> loop;

    /**
     * @param lora         the adapters to train, in place (initialised, or loaded from an adapter to continue)
     * @param maxSeqLength the longest row a batch may have
     * @param eval         the eval split, or null
     */
    public Trainer(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxSeqLength,
                   TrainingArguments args, BatchSource<Batch> train, BatchSource<Batch> eval) {
        this.loop = new TrainingLoop<>(config, weights, lora, ops, args.perDeviceTrainBatchSize(), maxSeqLength, args,
                train, eval, new SftObjective(lora));
    }

    /** Adds a listener that sees every step, log line and evaluation. */
    public Trainer addListener(TrainingListener listener) {
        loop.addListener(listener);
        return this;
    }

    /**
     * Optimizer steps of the run: {@code maxSteps} if positive, else epochs × ceil(batches per epoch / accumulation)
     * (the last step of an epoch takes the micro-batches left, as in transformers).
     */
    public long totalSteps() {
        return loop.totalSteps();
    }

    /** Trains from the start. */
    public TrainResult train() throws IOException {
        return loop.train();
    }

    /** Continues the run saved in {@code checkpoint} (a {@code checkpoint-<step>} folder). */
    public TrainResult resume(Path checkpoint) throws IOException {
        return loop.resume(checkpoint);
    }

    /** Continues from the latest complete checkpoint in the output folder. */
    public TrainResult resumeLatest() throws IOException {
        return loop.resumeLatest();
    }
}

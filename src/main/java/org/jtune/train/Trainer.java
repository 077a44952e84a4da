package org.jtune.train;

import org.jtune.cuda.Context;
import org.jtune.model.Batch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.cpu.Ops;
import org.jtune.model.gpu.BaseFormat;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuLlamaModel;
import org.jtune.model.gpu.StepShape;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Supervised fine-tuning of the LoRA adapters of a model: micro-batches from a {@link BatchSource}, gradient
 * accumulation over all labelled tokens of a step ({@link GradientAccumulation}), clipping, AdamW with a
 * transformers learning-rate schedule, periodic evaluation, logging (console, {@code metrics.jsonl}, a loss-curve
 * PNG at the end) and atomic checkpoints that {@link #resume} continues bit for bit on the CPU. {@link #onGpu} runs
 * the steps on the GPU instead; its checkpoints resume within the GPU's rounding (see {@link GpuSftEngine}).
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
        this(new TrainingLoop<>(config, weights, lora, ops, args.perDeviceTrainBatchSize(), maxSeqLength, args,
                train, eval, new SftObjective(lora)));
    }

    private Trainer(TrainingLoop<Batch> loop) {
        this.loop = loop;
    }

    /**
     * A trainer whose steps run on the GPU of {@code context} ({@link GpuLlamaModel}, sized for the batch size,
     * {@code maxSeqLength} and the accumulation steps); the adapters are copied back into {@code lora} at every
     * checkpoint and at the end, with the AdamW moments at every checkpoint, which the resume methods restore.
     *
     * @throws IllegalArgumentException if the GPU step does not support the model or adapters
     * @throws IllegalStateException    if the step does not fit the GPU's free memory (when training starts)
     */
    public static Trainer onGpu(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora,
                                int maxSeqLength, TrainingArguments args, BatchSource<Batch> train,
                                BatchSource<Batch> eval) {
        int rows = args.perDeviceTrainBatchSize();
        // Fails now, not when training starts, for a model or adapters the GPU step cannot run.
        GpuLlamaModel.plan(config, BaseFormat.of(weights), lora.config(), new StepShape(rows, maxSeqLength,
                args.gradientAccumulationSteps()), args.gradientCheckpointing() ? Checkpointing.ON : Checkpointing.OFF);
        return new Trainer(new TrainingLoop<>(config, lora, rows, maxSeqLength, args, train, eval,
                new SftObjective(lora), GpuSftEngine.factory(context, config, weights, lora, rows, maxSeqLength,
                args)).recordingBase(weights));
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

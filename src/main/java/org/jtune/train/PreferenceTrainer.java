package org.jtune.train;

import org.jtune.cuda.Context;
import org.jtune.data.PreferenceBatch;
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
 * DPO of the LoRA adapters of a model ({@link PreferenceObjective}): the reference is the same base with the
 * adapters switched off. The loop, logging ({@code rewards/...} and {@code logps/...} beside the loss), plot and
 * checkpoints are those of {@link Trainer}; {@code per_device_train_batch_size} counts pairs, each taking two rows.
 * {@link #onGpu} runs the steps on the GPU; its checkpoints cannot be resumed (see {@link GpuPreferenceEngine}).
 */
public final class PreferenceTrainer {
    private final TrainingLoop<PreferenceBatch> loop;

    /**
     * @param lora         the adapters to train, in place
     * @param maxSeqLength the longest prompt + completion row a batch may have
     * @param eval         the eval split, or null
     */
    public PreferenceTrainer(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxSeqLength,
                             TrainingArguments args, DpoArguments dpo, BatchSource<PreferenceBatch> train,
                             BatchSource<PreferenceBatch> eval) {
        this(new TrainingLoop<>(config, weights, lora, ops, Math.multiplyExact(2, args.perDeviceTrainBatchSize()),
                maxSeqLength, args, train, eval, new PreferenceObjective(lora, dpo)));
    }

    private PreferenceTrainer(TrainingLoop<PreferenceBatch> loop) {
        this.loop = loop;
    }

    /**
     * A trainer whose steps run on the GPU of {@code context} ({@link GpuLlamaModel}, sized for two rows per pair,
     * {@code maxSeqLength} and the accumulation steps); the reference log-probabilities, precomputed or not, come
     * from the same GPU model with its LoRA branches skipped. The adapters are copied back into {@code lora} at
     * every checkpoint and at the end. The resume methods refuse, as {@link Trainer#onGpu}'s do: the GPU step
     * cannot restore optimizer moments.
     *
     * @throws IllegalArgumentException if the GPU step does not support the model or adapters
     * @throws IllegalStateException    if the step does not fit the GPU's free memory (when training starts)
     */
    public static PreferenceTrainer onGpu(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora,
                                          int maxSeqLength, TrainingArguments args, DpoArguments dpo,
                                          BatchSource<PreferenceBatch> train, BatchSource<PreferenceBatch> eval) {
        int rows = Math.multiplyExact(2, args.perDeviceTrainBatchSize());
        StepShape shape = new StepShape(rows, maxSeqLength, args.gradientAccumulationSteps());
        Checkpointing checkpointing = args.gradientCheckpointing() ? Checkpointing.ON : Checkpointing.OFF;
        // Fails now, not when training starts, for a model or adapters the GPU step cannot run.
        GpuLlamaModel.plan(config, BaseFormat.of(weights), lora.config(), shape, checkpointing);
        PreferenceObjective objective = new PreferenceObjective(lora, dpo);
        return new PreferenceTrainer(new TrainingLoop<>(config, lora, rows, maxSeqLength, args, train, eval, objective,
                GpuPreferenceEngine.factory(context, config, weights, lora, shape, checkpointing, args, objective))
                .recordingBase(weights));
    }

    /** Adds a listener that sees every step, log line and evaluation. */
    public PreferenceTrainer addListener(TrainingListener listener) {
        loop.addListener(listener);
        return this;
    }

    /** Optimizer steps of the run, as {@link Trainer#totalSteps()}. */
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

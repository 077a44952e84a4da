package org.jtune.train;

import org.jtune.data.PreferenceBatch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.ops.Ops;

import java.io.IOException;
import java.nio.file.Path;

/**
 * DPO of the LoRA adapters of a model ({@link PreferenceObjective}): the reference is the same base with the
 * adapters switched off. The loop, logging ({@code rewards/...} and {@code logps/...} beside the loss), plot and
 * checkpoints are those of {@link Trainer}; {@code per_device_train_batch_size} counts pairs, each taking two rows.
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
        this.loop = new TrainingLoop<>(config, weights, lora, ops, Math.multiplyExact(2, args.perDeviceTrainBatchSize()),
                maxSeqLength, args, train, eval, new PreferenceObjective(lora, dpo));
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

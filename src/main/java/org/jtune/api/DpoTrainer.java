package org.jtune.api;

import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
import org.jtune.model.LlamaWeights;
import org.jtune.train.BatchSource;
import org.jtune.train.DpoArguments;
import org.jtune.train.PreferenceBatchSource;
import org.jtune.train.PreferenceTrainer;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.TrainingListener;

import java.io.IOException;
import java.nio.file.Path;

/**
 * TRL-style DPO of a {@link PeftModel}'s adapters on preference pairs; the reference model is the same base with
 * the adapters switched off (TRL's choice for a PEFT model without a separate reference), so no second copy exists.
 */
public final class DpoTrainer {
    private final PreferenceTrainer trainer;

    /**
     * Pairs from datasets: the training pairs shuffled every epoch from {@code args.seed()}, the eval pairs in order;
     * {@code per_device_train_batch_size} pairs per micro-batch.
     *
     * @param evalDataset the eval split, or null
     */
    public DpoTrainer(PeftModel model, PreferenceDataset trainDataset, PreferenceDataset evalDataset,
                      TrainingArguments args, DpoArguments dpo) {
        this(model, new PreferenceBatchSource(trainDataset, args.perDeviceTrainBatchSize(), true),
                evalDataset == null ? null
                        : new PreferenceBatchSource(evalDataset, args.perDeviceTrainBatchSize(), false), args, dpo);
    }

    /** Pairs from any batch source (at most {@code per_device_train_batch_size} pairs per batch). */
    public DpoTrainer(PeftModel model, BatchSource<PreferenceBatch> trainBatches,
                      BatchSource<PreferenceBatch> evalBatches, TrainingArguments args, DpoArguments dpo) {
        LanguageModel base = model.base();
        this.trainer = new PreferenceTrainer(base.config(), LlamaWeights.load(base.config(), base.weights()),
                model.adapters(), base.ops(), base.maxSeqLength(), args, dpo, trainBatches, evalBatches);
    }

    /** Adds a listener that sees every step, log line and evaluation. */
    public DpoTrainer addListener(TrainingListener listener) {
        trainer.addListener(listener);
        return this;
    }

    /** Trains from the start. */
    public TrainResult train() throws IOException {
        return trainer.train();
    }

    /** transformers' {@code train(resume_from_checkpoint=True)}: continues from the latest checkpoint in output_dir. */
    public TrainResult train(boolean resumeFromCheckpoint) throws IOException {
        return resumeFromCheckpoint ? trainer.resumeLatest() : trainer.train();
    }

    /** Continues from the given {@code checkpoint-<step>} folder. */
    public TrainResult train(Path checkpoint) throws IOException {
        return trainer.resume(checkpoint);
    }
}

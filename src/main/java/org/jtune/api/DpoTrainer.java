package org.jtune.api;

import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
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
 * Trains on the GPU where one is usable ({@link BackendChoice}), else on the CPU; a GPU run cannot be resumed from a
 * checkpoint (the GPU step cannot restore the optimizer's moments), so the {@code train} methods that resume refuse.
 */
public final class DpoTrainer {
    private final PreferenceTrainer trainer;

    /**
     * Pairs from datasets: the training pairs shuffled every epoch from {@code args.seed()}, the eval pairs in order;
     * {@code per_device_train_batch_size} pairs per micro-batch. Trains on the backend {@link BackendChoice#choose()}
     * picks.
     *
     * @param evalDataset the eval split, or null
     */
    public DpoTrainer(PeftModel model, PreferenceDataset trainDataset, PreferenceDataset evalDataset,
                      TrainingArguments args, DpoArguments dpo) {
        this(model, new PreferenceBatchSource(trainDataset, args.perDeviceTrainBatchSize(), true),
                evalDataset == null ? null
                        : new PreferenceBatchSource(evalDataset, args.perDeviceTrainBatchSize(), false), args, dpo);
    }

    /**
     * Pairs from any batch source (at most {@code per_device_train_batch_size} pairs per batch), on the backend
     * {@link BackendChoice#choose()} picks.
     */
    public DpoTrainer(PeftModel model, BatchSource<PreferenceBatch> trainBatches,
                      BatchSource<PreferenceBatch> evalBatches, TrainingArguments args, DpoArguments dpo) {
        this(model, trainBatches, evalBatches, args, dpo, BackendChoice.choose());
    }

    /**
     * Pairs from any batch source, on the given backend.
     *
     * @throws IllegalArgumentException on the GPU, if its step does not support the model or adapters
     */
    public DpoTrainer(PeftModel model, BatchSource<PreferenceBatch> trainBatches,
                      BatchSource<PreferenceBatch> evalBatches, TrainingArguments args, DpoArguments dpo,
                      BackendChoice backend) {
        LanguageModel base = model.base();
        this.trainer = backend.isCuda()
                ? PreferenceTrainer.onGpu(Context.primary(Device.get(0)), base.config(), base.frozen(),
                        model.adapters(), base.maxSeqLength(), args, dpo, trainBatches, evalBatches)
                : new PreferenceTrainer(base.config(), base.frozen(), model.adapters(), base.ops(),
                        base.maxSeqLength(), args, dpo, trainBatches, evalBatches);
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

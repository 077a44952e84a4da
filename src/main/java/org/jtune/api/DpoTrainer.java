package org.jtune.api;

import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
import org.jtune.model.backend.Backend;
import org.jtune.train.BatchSource;
import org.jtune.train.DpoArguments;
import org.jtune.train.PreferenceBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.Trainer;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;

import java.io.IOException;
import java.nio.file.Path;

/**
 * TRL-style DPO of a {@link PeftModel}'s adapters on preference pairs; the reference model is the same base with
 * the adapters switched off (TRL's choice for a PEFT model without a separate reference), so no second copy exists.
 * Trains on the GPU where one is usable ({@link Backend}), else on the CPU. Either resumes from its checkpoints (the
 * CPU bit for bit, the GPU within its bf16 rounding).
 */
public final class DpoTrainer {
    private final Trainer<PreferenceBatch> trainer;

    /**
     * Pairs from datasets: the training pairs shuffled every epoch from {@code args.seed()}, the eval pairs in order;
     * {@code per_device_train_batch_size} pairs per micro-batch. Trains on the backend {@link Backend#choose()} picks.
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
     * {@link Backend#choose()} picks.
     */
    public DpoTrainer(PeftModel model, BatchSource<PreferenceBatch> trainBatches,
                      BatchSource<PreferenceBatch> evalBatches, TrainingArguments args, DpoArguments dpo) {
        this(model, trainBatches, evalBatches, args, dpo, Backend.choose());
    }

    /**
     * Pairs from any batch source, on {@code backend}; a model its GPU engine cannot run trains on the CPU
     * ({@link #placement()} says so).
     */
    public DpoTrainer(PeftModel model, BatchSource<PreferenceBatch> trainBatches,
                      BatchSource<PreferenceBatch> evalBatches, TrainingArguments args, DpoArguments dpo,
                      Backend backend) {
        LanguageModel base = model.base();
        this.trainer = Trainer.dpo(backend, base.config(), base.frozen(), model.adapters(), base.maxSeqLength(), args,
                dpo, trainBatches, evalBatches);
    }

    /** Where training runs and why there, e.g. "the GPU (GPU 0, NVIDIA H200)". */
    public String placement() {
        return trainer.placement();
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

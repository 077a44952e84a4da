package org.jtune.api;

import org.jtune.model.Batch;
import org.jtune.model.backend.Backend;
import org.jtune.train.BatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.SftBatchSource;
import org.jtune.train.Trainer;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;

import java.io.IOException;
import java.nio.file.Path;

/**
 * TRL-style supervised fine-tuning of a {@link PeftModel}'s adapters on batches from a {@link BatchSource}, on the
 * GPU where one is usable ({@link Backend}), else on the CPU. Either resumes from its checkpoints (the CPU bit for
 * bit, the GPU within its bf16 rounding); a checkpoint of an older GPU run, without optimizer state, is refused.
 */
public final class SftTrainer {
    private final Trainer<Batch> trainer;

    /**
     * Trains on the backend {@link Backend#choose()} picks.
     *
     * @param evalDataset the eval split, or null
     */
    public SftTrainer(PeftModel model, BatchSource<Batch> trainDataset, BatchSource<Batch> evalDataset,
                      TrainingArguments args) {
        this(model, trainDataset, evalDataset, args, Backend.choose());
    }

    /**
     * Trains on {@code backend}; a model its GPU engine cannot run trains on the CPU ({@link #placement()} says so).
     *
     * @param evalDataset the eval split, or null
     */
    public SftTrainer(PeftModel model, BatchSource<Batch> trainDataset, BatchSource<Batch> evalDataset,
                      TrainingArguments args, Backend backend) {
        LanguageModel base = model.base();
        for (BatchSource<Batch> source : java.util.Arrays.asList(trainDataset, evalDataset)) {
            if (source instanceof SftBatchSource s && s.maxLength() > base.maxSeqLength()) {
                throw new IllegalArgumentException("the dataset was cut to " + s.maxLength() + " tokens but the model was loaded for max_seq_length "
                        + base.maxSeqLength() + ": load the data with pretrained.sftOptions(), which carries the "
                        + "model's length, or with SftOptions.withMaxLength(" + base.maxSeqLength() + ")");
            }
        }
        this.trainer = Trainer.sft(backend, base.config(), base.frozen(), model.adapters(), base.maxSeqLength(), args,
                trainDataset, evalDataset);
    }

    /** Where training runs and why there, e.g. "the GPU (GPU 0, NVIDIA H200)". */
    public String placement() {
        return trainer.placement();
    }

    /** Adds a listener that sees every step, log line and evaluation. */
    public SftTrainer addListener(TrainingListener listener) {
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

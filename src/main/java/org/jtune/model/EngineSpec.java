package org.jtune.model;

/**
 * What a training engine is opened for: the model, the adapters to train (their values are where training starts),
 * the largest work of a step (micro-batches of up to {@code maxRows} rows of {@code maxSeqLength} tokens, up to
 * {@code microBatches} of them per optimizer step), whether layers are recomputed in backward, and the optimizer.
 */
public record EngineSpec(ModelConfig config, ModelWeights weights, LoraAdapters lora, int maxRows, int maxSeqLength,
                         int microBatches, boolean gradientCheckpointing, OptimizerSettings optimizer) {
    public EngineSpec {
        if (maxRows <= 0 || maxSeqLength <= 0 || microBatches <= 0) {
            throw new IllegalArgumentException("an engine needs positive sizes, got " + maxRows + " rows x "
                    + maxSeqLength + " tokens, " + microBatches + " micro-batches per step");
        }
    }
}

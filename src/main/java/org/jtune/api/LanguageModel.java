package org.jtune.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;
import org.jtune.ops.Ops;

/**
 * A base model ready for fine-tuning: its config, its frozen weights, the longest sequence it will be trained on
 * and the engine that runs it.
 *
 * @param configJson the model's original {@code config.json}, kept for merged exports; null if there is none
 */
public record LanguageModel(ModelConfig config, WeightSource weights, int maxSeqLength, Ops ops, JsonNode configJson) {
    public LanguageModel {
        if (maxSeqLength <= 0) {
            throw new IllegalArgumentException("max_seq_length must be positive, got " + maxSeqLength);
        }
        if (maxSeqLength > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("max_seq_length " + maxSeqLength + " exceeds the model's "
                    + "max_position_embeddings " + config.maxPositionEmbeddings());
        }
    }
}

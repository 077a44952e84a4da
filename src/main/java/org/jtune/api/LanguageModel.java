package org.jtune.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;

/**
 * A base model ready for fine-tuning: its config, its frozen weights and the longest sequence it will be trained
 * on. Where it trains is the trainer's {@code Backend}.
 *
 * @param weights    the tensors as stored (full precision where the files are), what merged exports merge into
 * @param frozen     the weights the model computes with: {@code weights} as they are, or with projections in NF4
 * @param configJson the model's original {@code config.json}, kept for merged exports; null if there is none
 */
public record LanguageModel(ModelConfig config, WeightSource weights, ModelWeights frozen, int maxSeqLength,
                            JsonNode configJson) {
    public LanguageModel {
        if (maxSeqLength <= 0) {
            throw new IllegalArgumentException("max_seq_length must be positive, got " + maxSeqLength);
        }
        if (maxSeqLength > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("max_seq_length " + maxSeqLength + " exceeds the model's "
                    + "max_position_embeddings " + config.maxPositionEmbeddings());
        }
    }

    /** A model that computes with {@code weights} as they are. */
    public LanguageModel(ModelConfig config, WeightSource weights, int maxSeqLength, JsonNode configJson) {
        this(config, weights, ModelWeights.load(config, weights), maxSeqLength, configJson);
    }
}

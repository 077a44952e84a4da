package org.jtune.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.quant.QuantizationConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A model folder loaded by {@link ModelLoader}: its config and frozen weights, which stay valid until
 * {@link #close} (dense tensors are views of the mapped files; NF4 weights made on load live in an arena of
 * this object).
 */
public final class LoadedModel implements AutoCloseable {
    private final ModelConfig config;
    private final ObjectNode configJson;
    private final ModelWeights weights;
    private final WeightSource source;
    private final QuantizationConfig quantization;
    private final MemoryReport memory;
    private final SafetensorsCheckpoint checkpoint;
    private final Arena arena;

    LoadedModel(ModelConfig config, ObjectNode configJson, ModelWeights weights, WeightSource source,
                QuantizationConfig quantization, MemoryReport memory, SafetensorsCheckpoint checkpoint, Arena arena) {
        this.config = config;
        this.configJson = configJson;
        this.weights = weights;
        this.source = source;
        this.quantization = quantization;
        this.memory = memory;
        this.checkpoint = checkpoint;
        this.arena = arena;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** The tensors as stored in the folder's files (full precision even when quantized on load), e.g. to merge into. */
    public WeightSource source() {
        return source;
    }

    /** The model's config.json as read. */
    public ObjectNode configJson() {
        return configJson;
    }

    /** The 4-bit quantization in effect (read from config.json, or made by quantizing on load); null if none. */
    public QuantizationConfig quantization() {
        return quantization;
    }

    /** What the weights hold, as reported at load. */
    public MemoryReport memory() {
        return memory;
    }

    /**
     * Saves the model in the bnb-4bit layout transformers + bitsandbytes load (see {@link Bnb4bitModelWriter}),
     * sharded past 5 GB.
     */
    public void saveQuantized(Path folder) throws IOException {
        saveQuantized(folder, SafetensorsCheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
    }

    /** As {@link #saveQuantized(Path)} with another largest shard size. */
    public void saveQuantized(Path folder, long maxShardBytes) throws IOException {
        Bnb4bitModelWriter.write(folder, configJson, config, weights, quantization, maxShardBytes);
    }

    /** Unmaps the checkpoint and frees NF4 weights made on load; the weights must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
        checkpoint.close();
    }
}

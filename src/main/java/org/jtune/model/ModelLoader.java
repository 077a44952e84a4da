package org.jtune.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.IoErrors;
import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.StrictJson;
import org.jtune.quant.QuantizationConfig;
import org.jtune.tensor.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Loads a Hugging Face model folder ({@code config.json} with {@code model.safetensors} or a sharded index):
 * full-precision checkpoints as stored or quantized on load, bnb-4bit checkpoints with their NF4 weights as
 * stored. Logs the one-line {@link MemoryReport} of what is held.
 */
public final class ModelLoader {
    /** File name of the model config in a model folder. */
    public static final String CONFIG_FILE = "config.json";

    private static final System.Logger LOG = System.getLogger(ModelLoader.class.getName());

    private ModelLoader() {}

    /** Opens {@code folder} and builds the weights; tensors are checked against the config (names, shapes). */
    public static LoadedModel load(Path folder, LoadOptions options) throws IOException {
        Path configFile = folder.resolve(CONFIG_FILE);
        if (!Files.exists(configFile)) {
            throw new NoSuchFileException(configFile.toString(), null, "a model folder needs a " + CONFIG_FILE);
        }
        IoErrors.requireRegularFile(configFile, CONFIG_FILE);
        String text;
        try {
            text = Files.readString(configFile);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ModelConfigException(configFile + ": " + IoErrors.reason(e), e);
        }
        ModelConfig config = ModelConfig.parse(text, configFile.toString());
        ObjectNode configJson = (ObjectNode) readJson(text, configFile);
        JsonNode quantNode = configJson.get("quantization_config");
        QuantizationConfig stored = quantNode == null || quantNode.isNull() ? null
                : QuantizationConfig.parse(quantNode, configFile.toString());

        SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder);
        Arena arena = Arena.ofShared();
        try {
            // A bnb-4bit checkpoint is taken as it is: its unquantized projections were left so on purpose.
            ModelWeights.DenseProjections dense = options.loadIn4bit() && stored == null
                    ? new Nf4OnLoad(options.blocksize(), options.doubleQuant(), arena)
                    : (module, weight) -> new FrozenLinearWeight.Dense(weight);
            CheckpointWeights source = new CheckpointWeights(checkpoint);
            Set<String> used = new HashSet<>();
            ModelWeights weights = ModelWeights.load(config, source, dense, used);
            UnusedTensors.refuse(config, source, used, configFile);
            MemoryReport memory = MemoryReport.of(weights);
            QuantizationConfig quantization = stored != null || memory.quantizedProjections() == 0 ? stored
                    : new QuantizationConfig(options.doubleQuant(), computeDtype(config, weights), null);
            LOG.log(System.Logger.Level.INFO, folder + ": " + memory.line());
            return new LoadedModel(config, configJson, weights, source, quantization, memory, checkpoint, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            checkpoint.close();
            throw e;
        }
    }

    /** As unsloth: compute in the model's dtype; the embeddings' dtype where config.json names none. */
    private static DType computeDtype(ModelConfig config, ModelWeights weights) {
        return config.dtype() != null ? config.dtype() : weights.embedTokens().dtype();
    }

    private static JsonNode readJson(String text, Path file) {
        try {
            return StrictJson.parse(text);
        } catch (JsonProcessingException e) {
            throw new ModelConfigException(file + ": not valid JSON: " + StrictJson.reason(e), e);
        }
    }
}

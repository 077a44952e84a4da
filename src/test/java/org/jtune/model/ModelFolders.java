package org.jtune.model;

import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.SafetensorsWriter;
import org.jtune.io.TensorData;
import org.jtune.io.TensorInfo;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Tiny HF model folders for the loading tests: config.json plus model.safetensors, written with the io package. */
final class ModelFolders {
    private ModelFolders() {}

    /**
     * Llama with GQA and a head_dim that does not divide hidden_size; projections are not whole numbers of 64-blocks,
     * and gate/up/down span two nested 256-blocks.
     */
    static final String LLAMA = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 29, "hidden_size": 20,
             "intermediate_size": 840, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
             "head_dim": 6, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 64,
             "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2}""";

    /** Mistral with tied embeddings and no dtype in its config. */
    static final String MISTRAL_TIED = """
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 23, "hidden_size": 16,
             "intermediate_size": 40, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 4, "rms_norm_eps": 1e-06, "sliding_window": 5, "max_position_embeddings": 64,
             "tie_word_embeddings": true}""";

    /** Writes config.json and random weights of {@code dtype} as model.safetensors into folder. */
    static ModelConfig writeRandom(Path folder, String configJson, DType dtype, long seed) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve(ModelLoader.CONFIG_FILE), configJson);
        ModelConfig config = ModelConfig.parse(configJson, "test config");
        try (Arena arena = Arena.ofConfined()) {
            WeightSource random = RandomWeights.create(config, dtype, 0.3, seed, arena);
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            for (String name : random.names()) {
                Tensor t = random.tensor(name);
                writer.add(new TensorData(name, t.dtype(), t.shape(), t.segment()));
            }
            writer.write(folder.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        }
        return config;
    }

    /** The tensor names of the single-file checkpoint in folder. */
    static List<String> tensorNames(Path folder) throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(folder.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            return file.names();
        }
    }

    /**
     * Copies the single-file checkpoint of {@code from} (and its config.json) to {@code to}, letting {@code edit}
     * change the tensors (by name, in file order) on the way.
     */
    static void copyEdited(Path from, Path to, Consumer<Map<String, TensorData>> edit) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve(ModelLoader.CONFIG_FILE), to.resolve(ModelLoader.CONFIG_FILE));
        try (SafetensorsFile file = SafetensorsFile.open(from.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            for (String name : file.names()) {
                TensorInfo info = file.info(name);
                tensors.put(name, new TensorData(name, info.dtype(), info.shape(), file.data(name)));
            }
            edit.accept(tensors);
            SafetensorsWriter writer = new SafetensorsWriter();
            tensors.values().forEach(writer::add);
            writer.write(to.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        }
    }
}

package org.jtune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelLoader;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;

/**
 * The demo's base model: a tiny Llama (2 layers, hidden size 128, about 0.5 M parameters) with random weights, and
 * the demo tokenizer, written as a Hugging Face model folder so that the demo goes through the same loading,
 * training, saving and merging as a real model. The weights are Gaussian with standard deviation 1/sqrt(fan-in)
 * (embeddings 1) from a fixed seed: the same folder on every run. The model knows nothing; what the demo shows is
 * LoRA learning the format and words of the data on top of a random base.
 */
final class DemoModel {
    static final long SEED = 3407;
    private static final String RESOURCES = "demo/";
    private static final String[] TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json"};

    private DemoModel() {}

    /** The config.json of the demo model; the special token ids are those of the demo tokenizer. */
    static ObjectNode configJson() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", 512);
        c.put("hidden_size", 128);
        c.put("intermediate_size", 352);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("max_position_embeddings", 512);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", 507);
        c.put("eos_token_id", 508);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** Writes the model folder (config, weights, tokenizer) into {@code folder}, replacing what is there. */
    static void write(Path folder) throws IOException {
        write(folder, configJson());
    }

    /** As {@link #write(Path)} with another shape (its vocabulary must hold the demo tokenizer's 512 tokens). */
    static void write(Path folder, ObjectNode json) throws IOException {
        Files.createDirectories(folder);
        ModelConfig config = ModelConfig.parse(json.toString(), "demo model config");
        SplittableRandom rnd = new SplittableRandom(SEED);
        int d = config.hiddenSize(), inner = config.intermediateSize();
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter writer = new SafetensorsWriter();
            add(writer, arena, rnd, "model.embed_tokens.weight", 1.0, config.vocabSize(), d);
            for (int layer = 0; layer < config.numLayers(); layer++) {
                String p = ModelWeights.layerPrefix(layer);
                ones(writer, arena, p + "input_layernorm.weight", d);
                add(writer, arena, rnd, p + "self_attn.q_proj.weight", 0, config.qWidth(), d);
                add(writer, arena, rnd, p + "self_attn.k_proj.weight", 0, config.kvWidth(), d);
                add(writer, arena, rnd, p + "self_attn.v_proj.weight", 0, config.kvWidth(), d);
                add(writer, arena, rnd, p + "self_attn.o_proj.weight", 0, d, config.qWidth());
                ones(writer, arena, p + "post_attention_layernorm.weight", d);
                add(writer, arena, rnd, p + "mlp.gate_proj.weight", 0, inner, d);
                add(writer, arena, rnd, p + "mlp.up_proj.weight", 0, inner, d);
                add(writer, arena, rnd, p + "mlp.down_proj.weight", 0, d, inner);
            }
            ones(writer, arena, "model.norm.weight", d);
            add(writer, arena, rnd, "lm_head.weight", 0, config.vocabSize(), d);
            writer.write(folder.resolve("model.safetensors"));
        }
        for (String name : TOKENIZER_FILES) {
            try (InputStream in = DemoModel.class.getResourceAsStream(RESOURCES + name)) {
                if (in == null) {
                    throw new IllegalStateException("demo resource missing from the jar: org/jtune/cli/demo/" + name);
                }
                Files.copy(in, folder.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.writeString(folder.resolve(ModelLoader.CONFIG_FILE),
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json) + "\n");
    }

    /** A Gaussian matrix of {@code rows x columns}, standard deviation {@code std}, or 1/sqrt(columns) if 0. */
    private static void add(SafetensorsWriter writer, Arena arena, SplittableRandom rnd, String name, double std,
                            int rows, int columns) {
        double s = std > 0 ? std : 1 / Math.sqrt(columns);
        Tensor t = Tensor.allocate(arena, DType.F32, rows, columns);
        for (long i = 0; i < t.size(); i++) {
            t.set(i, (float) (rnd.nextGaussian() * s));
        }
        writer.add(name, DType.F32, new long[] {rows, columns}, t.segment());
    }

    private static void ones(SafetensorsWriter writer, Arena arena, String name, int size) {
        Tensor t = Tensor.allocate(arena, DType.F32, size);
        for (long i = 0; i < size; i++) {
            t.set(i, 1f);
        }
        writer.add(name, DType.F32, new long[] {size}, t.segment());
    }
}

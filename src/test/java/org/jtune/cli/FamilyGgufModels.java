package org.jtune.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.train.AdapterFiles;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Tiny random models of the families the GGUF export writes in their own llama.cpp architectures, with the demo
 * tokenizer, and random LoRA adapters for them (B not zero, so that merging them changes every projection). Rows of
 * 128 to 512 values, whole 32-value blocks for q8_0.
 */
final class FamilyGgufModels {
    private FamilyGgufModels() {}

    /** The config of a tiny model of the family: {@code qwen2}, {@code qwen3} or {@code gemma3}. */
    static ObjectNode config(String family) {
        ObjectNode c = DemoModel.configJson();
        c.put("hidden_size", 256);
        c.put("intermediate_size", 512);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        switch (family) {
            case "qwen2" -> {
                // tied embeddings, as the small Qwen2.5 models have
                c.putArray("architectures").add("Qwen2ForCausalLM");
                c.put("model_type", "qwen2");
                c.put("rope_theta", 1000000.0);
                c.put("tie_word_embeddings", true);
            }
            case "qwen3" -> {
                // head_dim apart from hidden_size / heads, and linear RoPE scaling
                c.putArray("architectures").add("Qwen3ForCausalLM");
                c.put("model_type", "qwen3");
                c.put("head_dim", 32);
                c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.0);
            }
            case "gemma3" -> {
                // global layers 1 and 3 of 4 (a period of 2, which the file must state), a window shorter than the
                // texts, the local RoPE base apart from the global one and linear scaling on the global layers only
                c.putArray("architectures").add("Gemma3ForCausalLM");
                c.put("model_type", "gemma3_text");
                c.remove("hidden_act");
                c.put("hidden_activation", "gelu_pytorch_tanh");
                c.put("num_hidden_layers", 4);
                c.put("num_key_value_heads", 1);
                c.put("head_dim", 64).put("query_pre_attn_scalar", 64);
                c.put("sliding_window", 16).put("sliding_window_pattern", 2);
                c.put("rope_theta", 1000000.0).put("rope_local_base_freq", 10000.0);
                c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.0);
                c.put("rms_norm_eps", 1e-6);
                c.put("tie_word_embeddings", true);
            }
            default -> throw new IllegalArgumentException(family);
        }
        return c;
    }

    /** Writes a model folder with this config, random weights of the family and the demo tokenizer. */
    static Path write(Path folder, ObjectNode config, long seed) throws IOException {
        DemoModel.write(folder, config); // config and tokenizer; the weights are replaced by the family's
        ModelConfig c = ModelConfig.parse(config.toString(), folder.toString());
        try (Arena arena = Arena.ofShared()) {
            WeightSource weights = RandomWeights.create(c, DType.F32, 0.05, seed, arena);
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : new TreeSet<>(weights.names())) {
                Tensor t = weights.tensor(name);
                writer.add(name, t.dtype(), t.shape(), t.segment());
            }
            writer.write(folder.resolve("model.safetensors"));
        }
        return folder;
    }

    /**
     * Writes a PEFT adapter on every projection of the model (rank 4, alpha 8): A as PEFT initializes it, B
     * ~ N(0, 0.5²), so that {@code scaling · B·A} is about as large as the weights.
     */
    static Path adapter(Path model, Path folder, long seed) throws IOException {
        ModelConfig c = ModelConfig.load(model.resolve("config.json"));
        try (Arena arena = Arena.ofShared()) {
            LoraAdapters lora = new LoraAdapters(c, LoraConfig.allProjections(4, 8, false), arena);
            lora.initPeftDefault(seed);
            SplittableRandom rnd = new SplittableRandom(seed + 1);
            for (String name : lora.names()) {
                if (name.contains("lora_B")) {
                    Tensor b = lora.tensor(name);
                    for (long i = 0; i < b.size(); i++) {
                        b.set(i, (float) (0.25 * rnd.nextGaussian()));
                    }
                }
            }
            AdapterFiles.save(lora, c, folder, model.toString());
        }
        return folder;
    }
}

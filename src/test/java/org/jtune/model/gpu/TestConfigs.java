package org.jtune.model.gpu;

import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;

/** Model configs of the GPU engine tests: tiny ones of each family the kernels run, and real 7B/8B shapes. */
final class TestConfigs {
    private TestConfigs() {}

    /** hidden 256 = 4 heads x 64 (2 kv heads), intermediate 512, vocab 1000, 2 layers; window 0 or a size. */
    static ModelConfig tiny(int slidingWindow) {
        String window = slidingWindow > 0 ? ", \"sliding_window\": " + slidingWindow : "";
        String type = slidingWindow > 0 ? "mistral" : "llama";
        String arch = slidingWindow > 0 ? "MistralForCausalLM" : "LlamaForCausalLM";
        return ModelConfig.parse("""
                {"architectures": ["%s"], "model_type": "%s", "vocab_size": 1000,
                 "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "max_position_embeddings": 512, "tie_word_embeddings": false%s}""".formatted(arch, type, window),
                "tiny " + type);
    }

    /**
     * Qwen2 at the tiny size: q/k/v biases, tied embeddings, and with {@code slidingWindow} > 0 a window on the
     * second layer only ({@code max_window_layers} 1), so that the two layers attend differently.
     */
    static ModelConfig tinyQwen2(int slidingWindow) {
        String window = slidingWindow > 0 ? ", \"use_sliding_window\": true, \"sliding_window\": " + slidingWindow
                + ", \"max_window_layers\": 1" : "";
        return ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 1000,
                 "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                 "max_position_embeddings": 1024, "tie_word_embeddings": true%s}""".formatted(window), "tiny qwen2");
    }

    /** Qwen3 at the tiny size: per-head q/k norms, head_dim 128 apart from hidden 192 / 4 heads (2 kv heads). */
    static ModelConfig tinyQwen3() {
        return ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 1000,
                 "hidden_size": 192, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                 "max_position_embeddings": 1024, "tie_word_embeddings": false}""", "tiny qwen3");
    }

    /** A tiny config by name: "llama", "mistral" (window 40), "qwen2" (window 40 on layer 1), "qwen3". */
    static ModelConfig tiny(String family) {
        return switch (family) {
            case "llama" -> tiny(0);
            case "mistral" -> tiny(40);
            case "qwen2" -> tinyQwen2(40);
            case "qwen3" -> tinyQwen3();
            default -> throw new IllegalArgumentException("no tiny config for " + family);
        };
    }

    /** The real Qwen2.5-7B shape. */
    static final ModelConfig QWEN25_7B = ModelConfig.parse("""
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 152064,
             "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
             "num_key_value_heads": 4, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "max_position_embeddings": 32768, "sliding_window": 131072, "max_window_layers": 28,
             "use_sliding_window": false, "tie_word_embeddings": false}""", "Qwen2.5-7B shape");

    /** The real Qwen3-8B shape. */
    static final ModelConfig QWEN3_8B = ModelConfig.parse("""
            {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936,
             "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36, "num_attention_heads": 32,
             "num_key_value_heads": 8, "head_dim": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "max_position_embeddings": 40960, "tie_word_embeddings": false}""", "Qwen3-8B shape");

    static final ModelConfig LLAMA3_8B = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
             "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
             "max_position_embeddings": 8192, "tie_word_embeddings": false}""", "Llama-3-8B shape");

    /** r = 16, alpha 32 on all seven projections. */
    static final LoraConfig LORA = LoraConfig.allProjections(16, 32, false);
}

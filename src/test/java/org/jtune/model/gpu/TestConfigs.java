package org.jtune.model.gpu;

import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;

/** Model configs of the GPU step tests: a tiny one the kernels accept, and the real Llama-3-8B shape. */
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

    static final ModelConfig LLAMA3_8B = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
             "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
             "max_position_embeddings": 8192, "tie_word_embeddings": false}""", "Llama-3-8B shape");

    /** r = 16, alpha 32 on all seven projections. */
    static final LoraConfig LORA = LoraConfig.allProjections(16, 32, false);
}

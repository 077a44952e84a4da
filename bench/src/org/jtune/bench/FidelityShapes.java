package org.jtune.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The model shapes the fidelity run can write, as {@code config.json} text: the released Llama-3-8B, Llama-2-7B and
 * Mistral-7B configurations, and a tiny Llama for runs on the CPU. The layer count can be cut for a quick run.
 */
final class FidelityShapes {
    private FidelityShapes() {}

    /** config.json templates; {@code %d} is the layer count. */
    private static final Map<String, String> TEMPLATES = new LinkedHashMap<>();

    static {
        TEMPLATES.put("llama-3-8b", llama("LlamaForCausalLM", "llama", 128256, 4096, 14336, 32, 8, 8192, 500000.0,
                1e-5, ""));
        TEMPLATES.put("llama-2-7b", llama("LlamaForCausalLM", "llama", 32000, 4096, 11008, 32, 32, 4096, 10000.0,
                1e-5, ""));
        TEMPLATES.put("mistral-7b", llama("MistralForCausalLM", "mistral", 32000, 4096, 14336, 32, 8, 32768, 10000.0,
                1e-5, ", \"sliding_window\": 4096"));
        // Grouped-query attention (4 heads, 2 kv heads) at a size a CPU trains in seconds.
        TEMPLATES.put("tiny", llama("LlamaForCausalLM", "llama", 512, 64, 128, 4, 2, 2048, 10000.0, 1e-5, ""));
    }

    private static String llama(String arch, String type, int vocab, int hidden, int inter, int heads, int kvHeads,
                                int maxPos, double theta, double eps, String extra) {
        return String.format(Locale.ROOT, """
                {"architectures": ["%s"], "model_type": "%s", "vocab_size": %d, "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": %%d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "max_position_embeddings": %d, "rms_norm_eps": %s,
                 "rope_theta": %s, "tie_word_embeddings": false, "hidden_act": "silu",
                 "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"%s}
                """, arch, type, vocab, hidden, inter, heads, kvHeads, maxPos, eps, theta, extra);
    }

    /** The layer count of the released model of {@code shape}. */
    static int defaultLayers(String shape) {
        return shape.equals("tiny") ? 2 : 32;
    }

    /**
     * The config.json text of {@code shape} with {@code layers} layers.
     *
     * @throws IllegalArgumentException for an unknown shape (the message lists them) or a layer count below 1
     */
    static String configJson(String shape, int layers) {
        String template = TEMPLATES.get(shape);
        if (template == null) {
            throw new IllegalArgumentException("no fidelity shape \"" + shape + "\"; the shapes are "
                    + TEMPLATES.keySet());
        }
        if (layers < 1) {
            throw new IllegalArgumentException("--layers must be at least 1, got " + layers);
        }
        return template.formatted(layers);
    }
}

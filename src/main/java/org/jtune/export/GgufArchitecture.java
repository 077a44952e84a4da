package org.jtune.export;

import org.jtune.model.ModelConfig;

/**
 * The llama.cpp architecture a model family is written as ({@code general.architecture}, the prefix of its
 * hyperparameter keys), and what llama.cpp's converter does differently for it.
 */
public enum GgufArchitecture {
    /** Llama and Mistral. */
    LLAMA("llama"),
    QWEN2("qwen2"),
    QWEN3("qwen3"),
    /** Gemma 3 text ({@code gemma3_text}). */
    GEMMA3("gemma3");

    private final String ggufName;

    GgufArchitecture(String ggufName) {
        this.ggufName = ggufName;
    }

    /** The architecture of a model with this config. */
    public static GgufArchitecture of(ModelConfig c) {
        return switch (c.modelType()) {
            case "llama", "mistral" -> LLAMA;
            case "qwen2" -> QWEN2;
            case "qwen3" -> QWEN3;
            case "gemma3_text" -> GEMMA3;
            default -> throw new IllegalArgumentException(c.modelType() + " has no llama.cpp architecture here");
        };
    }

    /** {@code general.architecture}, e.g. {@code qwen2}. */
    public String ggufName() {
        return ggufName;
    }

    /** A hyperparameter key of this architecture, e.g. {@code qwen2.block_count}. */
    String key(String suffix) {
        return ggufName + "." + suffix;
    }

    /**
     * Whether the rows of {@code attn_q} and {@code attn_k} are reordered per head: llama.cpp's {@code llama}
     * architecture rotates adjacent pairs, so the converter permutes transformers' half-split layout into them; the
     * others rotate the halves (NeoX style) as transformers does, and their rows are written as they are.
     */
    boolean permutesQueryKey() {
        return this == LLAMA;
    }

    /**
     * What the converter adds to every norm weight: Gemma's RMSNorm scales by {@code 1 + w} and llama.cpp's by the
     * stored weight, so the file holds {@code w + 1} (added in float32, as the converter does).
     */
    float normOffset() {
        return this == GEMMA3 ? 1f : 0f;
    }

    /**
     * Whether llama.cpp's quantize tool takes the model for a 70B one (more bits for {@code attn_v}): its model type,
     * which for {@code llama} is 80 layers with grouped-query attention and for {@code qwen2} 80 layers.
     */
    boolean seventyB(ModelConfig c) {
        return switch (this) {
            case LLAMA -> c.numLayers() == 80 && c.numKvHeads() != c.numHeads();
            case QWEN2 -> c.numLayers() == 80;
            case QWEN3, GEMMA3 -> false;
        };
    }
}

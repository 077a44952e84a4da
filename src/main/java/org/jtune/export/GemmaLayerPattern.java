package org.jtune.export;

import org.jtune.model.ModelConfig;

/**
 * Which Gemma 3 layers slide, as llama.cpp's {@code gemma3} reads it: one period {@code p}
 * ({@code gemma3.attention.sliding_window_pattern}, 6 when absent) with layer {@code i} global where
 * {@code (i + 1) % p == 0} and sliding elsewhere, 0 for every layer sliding. transformers' {@code layer_types} can
 * say more; a list that no period gives is refused.
 */
final class GemmaLayerPattern {
    /** No layer slides: the file then has no sliding window at all. */
    static final int NO_SLIDING_LAYERS = -1;

    private GemmaLayerPattern() {}

    /**
     * The period of the model's sliding layers, 0 when all slide, or {@link #NO_SLIDING_LAYERS}.
     *
     * @throws IllegalArgumentException when the sliding layers follow no period
     */
    static int period(ModelConfig c) {
        int layers = c.numLayers();
        int sliding = 0;
        for (int i = 0; i < layers; i++) {
            sliding += c.windowOf(i) > 0 ? 1 : 0;
        }
        if (sliding == 0) {
            return NO_SLIDING_LAYERS;
        }
        if (sliding == layers) {
            return 0;
        }
        for (int p = 2; p <= layers; p++) {
            if (follows(c, p)) {
                return p;
            }
        }
        StringBuilder global = new StringBuilder();
        for (int i = 0; i < layers; i++) {
            if (c.windowOf(i) == 0) {
                global.append(global.isEmpty() ? "" : ", ").append(i);
            }
        }
        throw new IllegalArgumentException("the global (full-attention) layers " + global + " of " + layers
                + " follow no period: llama.cpp's gemma3 makes every p-th layer global (layers p-1, 2p-1, ...)");
    }

    private static boolean follows(ModelConfig c, int p) {
        for (int i = 0; i < c.numLayers(); i++) {
            boolean slides = (i + 1) % p != 0;
            if (slides != c.windowOf(i) > 0) {
                return false;
            }
        }
        return true;
    }
}

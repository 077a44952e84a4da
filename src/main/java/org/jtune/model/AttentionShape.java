package org.jtune.model;

/**
 * Sizes of one causal self-attention call: {@code batch} rows of {@code seqLen} tokens, {@code heads} query heads
 * sharing {@code kvHeads} key/value heads (grouped-query attention), and an optional sliding window.
 *
 * @param window 0 for plain causal attention; otherwise query i sees key j only if {@code i - window < j <= i}
 * @param scale  the factor of the scores q·k, rounded to float as the attention math uses it
 */
public record AttentionShape(int batch, int seqLen, int heads, int kvHeads, int headDim, int window, float scale) {
    public AttentionShape {
        if (batch <= 0 || seqLen <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || window < 0
                || !(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("invalid attention sizes: " + this);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("query heads " + heads + " not a multiple of kv heads " + kvHeads);
        }
    }

    /** Scores scaled by 1/sqrt(headDim), as Llama's. */
    public AttentionShape(int batch, int seqLen, int heads, int kvHeads, int headDim, int window) {
        this(batch, seqLen, heads, kvHeads, headDim, window, (float) (1.0 / Math.sqrt(headDim)));
    }

    /** Number of token rows, batch * seqLen. */
    public int tokens() {
        return batch * seqLen;
    }

    /** Query heads per kv head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** The kv head that query head {@code h} reads (as {@code repeat_kv}: consecutive query heads share one). */
    public int kvHeadOf(int h) {
        return h / groupSize();
    }
}

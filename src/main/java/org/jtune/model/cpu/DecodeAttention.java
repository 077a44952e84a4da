package org.jtune.model.cpu;

import org.jtune.model.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Causal grouped-query attention of new tokens over their slot's cached keys and values (the new tokens' own
 * included, stored before this runs), within the sliding window where the model has one: the token at position p
 * sees positions {@code max(0, p - window + 1) .. p}. One task per (token, query head) on all cores.
 */
final class DecodeAttention {
    private final int heads, group, d;
    private final int[] windows;
    private final float scale;
    private final RowMath math;
    private final ThreadLocal<float[]> scores;

    DecodeAttention(ModelConfig config, int capacity, RowMath math) {
        this.heads = config.numHeads();
        this.group = config.groupSize();
        this.d = config.headDim();
        this.windows = new int[config.numLayers()];
        for (int l = 0; l < windows.length; l++) {
            windows[l] = config.windowOf(l);
        }
        this.scale = config.attentionScale();
        this.math = math;
        this.scores = ThreadLocal.withInitial(() -> new float[capacity]);
    }

    /**
     * @param q   [n, heads × d] queries, rotated
     * @param out [n, heads × d]
     */
    void attend(KvCache cache, int layer, float[] q, int n, int[] slots, int[] positions, float[] out) {
        MemorySegment keys = cache.keys(layer), values = cache.values(layer);
        IntStream jobs = IntStream.range(0, n * heads);
        if ((long) n * heads * (positions[n - 1] + 1) * d >= 1 << 15) {
            jobs = jobs.parallel();
        }
        jobs.forEach(job -> {
            int r = job / heads, h = job % heads, kvHead = h / group;
            int slot = slots[r], pos = positions[r];
            int window = windows[layer];
            int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
            int qAt = (r * heads + h) * d;
            float[] s = scores.get();
            float max = Float.NEGATIVE_INFINITY;
            for (int j = first; j <= pos; j++) {
                s[j - first] = math.dot(q, qAt, keys, cache.offset(slot, j, kvHead, d), d) * scale;
                max = Math.max(max, s[j - first]);
            }
            double sum = 0;
            Arrays.fill(out, qAt, qAt + d, 0f);
            for (int j = first; j <= pos; j++) {
                float p = (float) Math.exp(s[j - first] - max);
                sum += p;
                math.axpy(p, values, cache.offset(slot, j, kvHead, d), out, qAt, d);
            }
            float inv = (float) (1 / sum);
            for (int c = qAt; c < qAt + d; c++) {
                out[c] *= inv;
            }
        });
    }
}

package org.jtune.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The logits processors of transformers that {@link GenerationConfig} turns on, each computing what its
 * transformers namesake computes, and {@link #forConfig} putting them in transformers' order. Every warper keeps
 * at least one token (transformers' {@code min_tokens_to_keep} for a single beam).
 */
final class LogitsProcessors {
    private LogitsProcessors() {}

    /**
     * transformers' {@code _get_logits_processor}: the repetition penalty first, then, only when sampling,
     * temperature, top-k, top-p and min-p, each only where it changes something.
     */
    static List<LogitsProcessor> forConfig(GenerationConfig c) {
        List<LogitsProcessor> list = new ArrayList<>();
        if (c.repetitionPenalty() != 1.0) {
            list.add(new RepetitionPenalty((float) c.repetitionPenalty()));
        }
        if (c.doSample()) {
            if (c.temperature() != 1.0) {
                list.add(new Temperature((float) c.temperature()));
            }
            if (c.topK() != 0) {
                list.add(new TopK(c.topK()));
            }
            if (c.topP() < 1.0) {
                list.add(new TopP(c.topP()));
            }
            if (c.minP() > 0) {
                list.add(new MinP(c.minP()));
            }
        }
        return List.copyOf(list);
    }

    /**
     * {@code RepetitionPenaltyLogitsProcessor}: the score of every token already in the sequence (prompt included)
     * is divided by the penalty where positive and multiplied by it where negative.
     */
    record RepetitionPenalty(float penalty) implements LogitsProcessor {
        @Override
        public void process(int[] ids, int length, float[] scores) {
            boolean[] done = new boolean[scores.length];
            for (int i = 0; i < length; i++) {
                int id = ids[i];
                if (!done[id]) {
                    done[id] = true;
                    float s = scores[id];
                    scores[id] = s < 0 ? s * penalty : s / penalty;
                }
            }
        }
    }

    /** {@code TemperatureLogitsWarper}: scores divided by the temperature. */
    record Temperature(float temperature) implements LogitsProcessor {
        @Override
        public void process(int[] ids, int length, float[] scores) {
            for (int i = 0; i < scores.length; i++) {
                scores[i] = scores[i] / temperature;
            }
        }
    }

    /** {@code TopKLogitsWarper}: removes every token scoring below the k-th highest score (ties with it stay). */
    record TopK(int k) implements LogitsProcessor {
        @Override
        public void process(int[] ids, int length, float[] scores) {
            if (k >= scores.length) {
                return;
            }
            float[] sorted = scores.clone();
            Arrays.sort(sorted);
            float threshold = sorted[sorted.length - k];
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] < threshold) {
                    scores[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /**
     * {@code TopPLogitsWarper}: in ascending order of score, tokens whose cumulative probability is at most
     * {@code 1 - top_p} are removed; the highest-scoring token always stays. What remains is the smallest set of
     * top tokens whose probability reaches top_p.
     */
    record TopP(double topP) implements LogitsProcessor {
        @Override
        public void process(int[] ids, int length, float[] scores) {
            long[] order = ascending(scores);
            double[] probs = softmax(scores);
            double cumulative = 0;
            for (int i = 0; i < order.length - 1; i++) { // the last (highest) is kept
                int id = (int) order[i];
                cumulative += probs[id];
                if (cumulative <= 1 - topP) {
                    scores[id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /**
     * {@code MinPLogitsWarper}: removes tokens whose probability is below {@code min_p} times the probability of
     * the most likely token.
     */
    record MinP(double minP) implements LogitsProcessor {
        @Override
        public void process(int[] ids, int length, float[] scores) {
            double[] probs = softmax(scores);
            double top = 0;
            for (double p : probs) {
                top = Math.max(top, p);
            }
            double threshold = minP * top;
            for (int i = 0; i < scores.length; i++) {
                if (probs[i] < threshold) {
                    scores[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /** softmax in double; removed tokens (-inf) get 0. */
    static double[] softmax(float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double[] p = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            p[i] = scores[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp((double) scores[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /**
     * The ids of the tokens still in play (score above -inf) in ascending order of score, ties by id, as the low 32
     * bits of sorted keys: the high 32 bits hold the score's bits mapped so that signed integer order is float order.
     */
    private static long[] ascending(float[] scores) {
        long[] keys = new long[scores.length];
        int n = 0;
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] != Float.NEGATIVE_INFINITY) {
                int bits = Float.floatToIntBits(scores[i]);
                bits ^= (bits >> 31) & 0x7fffffff;
                keys[n++] = ((long) bits << 32) | i;
            }
        }
        long[] live = Arrays.copyOf(keys, n);
        Arrays.sort(live);
        for (int i = 0; i < n; i++) {
            live[i] &= 0xffffffffL;
        }
        return live;
    }
}

package org.jtune.generate;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token of one sequence from its logits: the processors of its {@link GenerationConfig}, then the
 * most likely token (greedy) or a draw from the softmax of the processed scores. Each sequence has its own random
 * stream, seeded from the config's seed, so a seeded request draws the same tokens whatever else is decoded
 * alongside it.
 */
public final class TokenSampler {
    private final List<LogitsProcessor> processors;
    private final boolean sample;
    private final SplittableRandom random;

    public TokenSampler(GenerationConfig config) {
        this.processors = LogitsProcessors.forConfig(config);
        this.sample = config.doSample();
        this.random = config.seed() == null ? new SplittableRandom() : new SplittableRandom(config.seed());
    }

    /**
     * @param ids    the sequence so far (prompt and generated tokens) in {@code ids[0 .. length)}
     * @param scores the next-token logits; processed in place
     */
    public int next(int[] ids, int length, float[] scores) {
        for (int i = 0; i < scores.length; i++) {
            if (Float.isNaN(scores[i])) {
                throw new IllegalStateException("the model computed a NaN logit (token " + i + ")");
            }
        }
        for (LogitsProcessor p : processors) {
            p.process(ids, length, scores);
        }
        return sample ? draw(scores) : argmax(scores);
    }

    /** The first index of the highest score, as torch's argmax. */
    static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** A draw from softmax(scores) by inverting the cumulative distribution at a uniform number. */
    private int draw(float[] scores) {
        double[] probs = LogitsProcessors.softmax(scores);
        double u = random.nextDouble();
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                cumulative += probs[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // u fell in the rounding gap above the last cumulative sum
    }
}

package org.jtune.generate;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Greedy picks, draws that follow the softmax, and seeded draws that repeat. */
class TokenSamplerTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private float[] randomLogits(int vocab) {
        float[] s = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            s[i] = (float) rnd.nextGaussian();
        }
        return s;
    }

    @Test
    void greedyTakesTheHighestScoreAfterTheRepetitionPenalty() {
        float[] s = randomLogits(50);
        int best = TokenSampler.argmax(s);
        assertEquals(best, new TokenSampler(GenerationConfig.greedy(5)).next(new int[0], 0, s.clone()));
        s[best] = Math.abs(s[best]) + 5; // penalised by 1e6, the best falls behind the others
        int next = new TokenSampler(GenerationConfig.greedy(5).withRepetitionPenalty(1e6))
                .next(new int[] {best}, 1, s.clone());
        float[] without = s.clone();
        without[best] = Float.NEGATIVE_INFINITY;
        assertEquals(TokenSampler.argmax(without), next);
    }

    @Test
    void drawsFollowTheSoftmax() {
        float[] s = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
        double[] p = LogitsProcessors.softmax(s);
        GenerationConfig c = GenerationConfig.defaults().withDoSample(true).withTopK(0).withSeed(seed);
        TokenSampler sampler = new TokenSampler(c);
        int n = 200_000;
        int[] counts = new int[s.length];
        for (int i = 0; i < n; i++) {
            counts[sampler.next(new int[0], 0, s.clone())]++;
        }
        for (int i = 0; i < s.length; i++) {
            double sd = Math.sqrt(n * p[i] * (1 - p[i]));
            assertTrue(Math.abs(counts[i] - n * p[i]) < 5 * sd,
                    "seed " + seed + ": token " + i + " drawn " + counts[i] + " times, expected about " + n * p[i]);
        }
    }

    @Test
    void removedTokensAreNeverDrawn() {
        GenerationConfig c = GenerationConfig.defaults().withDoSample(true).withTopK(3).withSeed(seed);
        TokenSampler sampler = new TokenSampler(c);
        float[] s = randomLogits(40);
        float[] sorted = s.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < 2000; i++) {
            int t = sampler.next(new int[0], 0, s.clone());
            assertTrue(s[t] >= sorted[sorted.length - 3], "drew token " + t + " outside the top 3");
        }
    }

    @Test
    void aSeedRepeatsItsDraws() {
        GenerationConfig c = GenerationConfig.defaults().withDoSample(true).withTemperature(1.5).withTopK(0)
                .withSeed(seed);
        float[][] logits = new float[100][];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = randomLogits(30);
        }
        int[] first = draws(new TokenSampler(c), logits), again = draws(new TokenSampler(c), logits);
        assertArrayEquals(first, again);
        assertFalse(java.util.Arrays.equals(first, draws(new TokenSampler(c.withSeed(seed + 1)), logits)));
    }

    private static int[] draws(TokenSampler sampler, float[][] logits) {
        int[] out = new int[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = sampler.next(new int[0], 0, logits[i].clone());
        }
        return out;
    }

    @Test
    void refusesNaN() {
        float[] s = randomLogits(10);
        s[7] = Float.NaN;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new TokenSampler(GenerationConfig.greedy(1)).next(new int[0], 0, s));
        assertTrue(e.getMessage().contains("NaN"));
    }

    @Test
    void configChecksItsValues() {
        GenerationConfig d = GenerationConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withTopP(0));
        assertThrows(IllegalArgumentException.class, () -> d.withTopP(1.5));
        assertThrows(IllegalArgumentException.class, () -> d.withTopK(-1));
        assertThrows(IllegalArgumentException.class, () -> d.withMinP(2));
        assertThrows(IllegalArgumentException.class, () -> d.withRepetitionPenalty(0));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxNewTokens(0));
        assertThrows(IllegalArgumentException.class, () -> d.withDoSample(true).withTemperature(0));
        assertThrows(IllegalArgumentException.class, () -> d.withStopStrings(java.util.List.of("")));
    }
}

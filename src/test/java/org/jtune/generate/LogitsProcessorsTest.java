package org.jtune.generate;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each processor against a straightforward reference of its definition on fresh random logits, and the order in
 * which a config turns them on.
 */
class LogitsProcessorsTest {
    private static final float GONE = Float.NEGATIVE_INFINITY;
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private float[] randomLogits(int vocab) {
        float[] s = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            s[i] = (float) (rnd.nextGaussian() * 3);
        }
        return s;
    }

    /** Logits with many exact ties, where thresholds must keep or drop whole groups. */
    private float[] tiedLogits(int vocab) {
        float[] s = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            s[i] = rnd.nextInt(7) - 3;
        }
        return s;
    }

    private int[] randomIds(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextInt(vocab);
        }
        return ids;
    }

    @RepeatedTest(20)
    void repetitionPenalty() {
        int vocab = 50 + rnd.nextInt(200);
        float[] s = randomLogits(vocab), expected = s.clone();
        int[] ids = randomIds(1 + rnd.nextInt(40), vocab);
        float penalty = 0.5f + rnd.nextFloat() * 2;
        Set<Integer> seen = new HashSet<>();
        for (int id : ids) {
            if (seen.add(id)) {
                expected[id] = expected[id] > 0 ? expected[id] / penalty : expected[id] * penalty;
            }
        }
        new LogitsProcessors.RepetitionPenalty(penalty).process(ids, ids.length, s);
        assertExactly(expected, s);
    }

    @RepeatedTest(20)
    void repetitionPenaltyOnlyLooksAtTheSequenceSoFar() {
        int vocab = 30;
        float[] s = randomLogits(vocab), expected = s.clone();
        int[] ids = {3, 4, 5, 6};
        expected[3] = expected[3] > 0 ? expected[3] / 2 : expected[3] * 2;
        expected[4] = expected[4] > 0 ? expected[4] / 2 : expected[4] * 2;
        new LogitsProcessors.RepetitionPenalty(2f).process(ids, 2, s);
        assertExactly(expected, s);
    }

    @RepeatedTest(20)
    void temperature() {
        float[] s = randomLogits(100), expected = s.clone();
        float t = 0.1f + rnd.nextFloat() * 2;
        for (int i = 0; i < expected.length; i++) {
            expected[i] = expected[i] / t;
        }
        new LogitsProcessors.Temperature(t).process(new int[0], 0, s);
        assertExactly(expected, s);
    }

    @RepeatedTest(20)
    void topK() {
        for (float[] s : List.of(randomLogits(120), tiedLogits(120))) {
            int k = 1 + rnd.nextInt(130);
            float[] expected = s.clone();
            for (int i = 0; i < s.length; i++) {
                int higher = 0;
                for (float o : s) {
                    higher += o > s[i] ? 1 : 0;
                }
                if (higher >= k) {
                    expected[i] = GONE; // k tokens score strictly higher: it is not among the top k (ties stay)
                }
            }
            new LogitsProcessors.TopK(k).process(new int[0], 0, s);
            assertExactly(expected, s);
        }
    }

    @RepeatedTest(20)
    void topP() {
        float[] s = randomLogits(80);
        if (rnd.nextBoolean()) {
            new LogitsProcessors.TopK(1 + rnd.nextInt(60)).process(new int[0], 0, s); // some tokens already gone
        }
        double topP = 0.05 + rnd.nextDouble() * 0.9;
        double[] p = referenceSoftmax(s);
        float[] expected = s.clone();
        for (int i = 0; i < s.length; i++) {
            double above = 0;
            for (int j = 0; j < s.length; j++) {
                above += s[j] > s[i] ? p[j] : 0;
            }
            if (!(above < topP)) {
                expected[i] = GONE; // the tokens above it already reach top_p
            }
        }
        new LogitsProcessors.TopP(topP).process(new int[0], 0, s);
        assertExactly(expected, s);
    }

    @Test
    void topPKeepsTheMostLikelyTokenEvenWhenItAloneExceedsP() {
        float[] s = {0f, 10f, 0.5f};
        new LogitsProcessors.TopP(0.01).process(new int[0], 0, s);
        assertExactly(new float[] {GONE, 10f, GONE}, s);
    }

    @RepeatedTest(20)
    void minP() {
        float[] s = randomLogits(90);
        double minP = rnd.nextDouble() * 0.5;
        double[] p = referenceSoftmax(s);
        double top = 0;
        for (double v : p) {
            top = Math.max(top, v);
        }
        float[] expected = s.clone();
        for (int i = 0; i < s.length; i++) {
            if (p[i] < minP * top) {
                expected[i] = GONE;
            }
        }
        new LogitsProcessors.MinP(minP).process(new int[0], 0, s);
        assertExactly(expected, s);
    }

    @Test
    void transformersOrder() {
        GenerationConfig all = GenerationConfig.defaults().withDoSample(true).withTemperature(0.7).withTopK(20)
                .withTopP(0.9).withMinP(0.05).withRepetitionPenalty(1.3);
        assertEquals(List.of(LogitsProcessors.RepetitionPenalty.class, LogitsProcessors.Temperature.class,
                        LogitsProcessors.TopK.class, LogitsProcessors.TopP.class, LogitsProcessors.MinP.class),
                LogitsProcessors.forConfig(all).stream().map(Object::getClass).toList());
        // greedy: only the repetition penalty changes the choice; the warpers are not applied
        assertEquals(List.of(LogitsProcessors.RepetitionPenalty.class),
                LogitsProcessors.forConfig(all.withDoSample(false)).stream().map(Object::getClass).toList());
        // transformers' defaults when sampling: top_k 50 only
        assertEquals(List.of(new LogitsProcessors.TopK(50)),
                LogitsProcessors.forConfig(GenerationConfig.defaults().withDoSample(true)));
    }

    /** The order matters: top-p after temperature sees the sharpened distribution. */
    @RepeatedTest(10)
    void pipelineEqualsTheReferenceStepsInOrder() {
        GenerationConfig c = GenerationConfig.defaults().withDoSample(true).withTemperature(0.3 + rnd.nextDouble())
                .withTopK(5 + rnd.nextInt(40)).withTopP(0.3 + rnd.nextDouble() * 0.6).withMinP(rnd.nextDouble() * 0.2)
                .withRepetitionPenalty(1.1 + rnd.nextDouble());
        float[] s = randomLogits(64), expected = s.clone();
        int[] ids = randomIds(10, 64);
        new LogitsProcessors.RepetitionPenalty((float) c.repetitionPenalty()).process(ids, ids.length, expected);
        new LogitsProcessors.Temperature((float) c.temperature()).process(ids, ids.length, expected);
        new LogitsProcessors.TopK(c.topK()).process(ids, ids.length, expected);
        new LogitsProcessors.TopP(c.topP()).process(ids, ids.length, expected);
        new LogitsProcessors.MinP(c.minP()).process(ids, ids.length, expected);
        for (LogitsProcessor p : LogitsProcessors.forConfig(c)) {
            p.process(ids, ids.length, s);
        }
        assertExactly(expected, s);
        int kept = 0;
        for (float v : s) {
            kept += v == GONE ? 0 : 1;
        }
        assertTrue(kept >= 1 && kept <= c.topK(), kept + " tokens kept");
    }

    private static double[] referenceSoftmax(float[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : s) {
            max = Math.max(max, v);
        }
        double[] p = new double[s.length];
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            p[i] = Math.exp(s[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < s.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private void assertExactly(float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.compare(expected[i], actual[i]) != 0) {
                fail("seed " + seed + ": score " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}

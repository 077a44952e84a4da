package org.jtune.model.cpu;

import org.jtune.model.OptimizerSettings;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AdamW against a double-precision transcription of the algorithm in torch's AdamW documentation. */
class AdamWTest extends TestFixture {
    /** torch docs: θ -= γλθ; m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; θ -= γ (m/(1-β1^t)) / (sqrt(v/(1-β2^t)) + ε). */
    private static void referenceStep(double[] p, double[] m, double[] v, double[] g, double lr, OptimizerSettings s,
                                      int t) {
        for (int i = 0; i < p.length; i++) {
            p[i] -= lr * s.weightDecay() * p[i];
            m[i] = s.beta1() * m[i] + (1 - s.beta1()) * g[i];
            v[i] = s.beta2() * v[i] + (1 - s.beta2()) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(s.beta1(), t));
            double vHat = v[i] / (1 - Math.pow(s.beta2(), t));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + s.eps());
        }
    }

    @Test
    void matchesTorchFormulaOverSeveralSteps() {
        OptimizerSettings settings = new OptimizerSettings(0.9, 0.999, 1e-8, 0.01, 0);
        int[] sizes = {7, 33, 1};
        double[][] p = new double[sizes.length][], m = new double[sizes.length][], v = new double[sizes.length][];
        // exp_avg sums gradients of both signs and scales 1e-2..1e2 in float32: it can cancel to far less than the
        // terms summed, so its error is bounded by their size (a few float32 ulps of the largest), not by its own
        double[][] largestGradient = new double[sizes.length][];
        Tensor[] params = new Tensor[sizes.length], grads = new Tensor[sizes.length];
        for (int t = 0; t < sizes.length; t++) {
            p[t] = new double[sizes[t]];
            m[t] = new double[sizes[t]];
            v[t] = new double[sizes[t]];
            largestGradient[t] = new double[sizes[t]];
            params[t] = Tensor.f32(arena, sizes[t]);
            grads[t] = Tensor.f32(arena, sizes[t]);
            for (int i = 0; i < sizes[t]; i++) {
                p[t][i] = (float) rnd.nextGaussian();
                params[t].set(i, (float) p[t][i]);
            }
        }
        AdamW adam = new AdamW(List.of(params), settings, arena);
        for (int step = 1; step <= 12; step++) {
            double lr = 1e-2 * (1 + rnd.nextDouble());
            for (int t = 0; t < sizes.length; t++) {
                double[] g = new double[sizes[t]];
                for (int i = 0; i < g.length; i++) {
                    // element 0 of the first tensor never gets a gradient: only the weight decay moves it
                    g[i] = t == 0 && i == 0 ? 0 : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5) - 2));
                    grads[t].set(i, (float) g[i]);
                    largestGradient[t][i] = Math.max(largestGradient[t][i], Math.abs(g[i]));
                }
                referenceStep(p[t], m[t], v[t], g, lr, settings, step);
            }
            adam.step(List.of(grads), lr);
            for (int t = 0; t < sizes.length; t++) {
                for (int i = 0; i < sizes[t]; i++) {
                    float actual = params[t].get(i);
                    assertTrue(Math.abs(actual - p[t][i]) <= 2e-6 + 2e-6 * Math.abs(p[t][i]),
                            "seed " + seed + ", step " + step + ", tensor " + t + "[" + i + "]: " + actual + " vs "
                                    + p[t][i]);
                    assertEquals(m[t][i], adam.firstMoments().get(t).get(i), 1e-6 + 1e-5 * Math.abs(m[t][i])
                            + 1e-6 * largestGradient[t][i],
                            "seed " + seed + ": exp_avg");
                    assertEquals(v[t][i], adam.secondMoments().get(t).get(i), 1e-5 * Math.abs(v[t][i]),
                            "seed " + seed + ": exp_avg_sq");
                }
            }
        }
        assertEquals(12, adam.stepCount());
    }

    @Test
    void firstStepMovesEachWeightByAboutTheLearningRate() {
        // With zero moments, m̂/sqrt(v̂) = g/|g| = ±1: the first update is -lr·sign(g) (ε aside), a known value.
        Tensor p = Tensor.f32(arena, 3), g = Tensor.f32(arena, 3);
        g.copyFrom(new float[] {2f, -0.5f, 1e-3f});
        new AdamW(List.of(p), new OptimizerSettings(0.9, 0.999, 1e-8, 0, 0), arena).step(List.of(g), 0.1);
        assertEquals(-0.1, p.get(0), 1e-7);
        assertEquals(0.1, p.get(1), 1e-7);
        assertEquals(-0.1 * 1e-3 / (1e-3 + 1e-8), p.get(2), 1e-7);
    }

    @Test
    void refusesWrongInputs() {
        Tensor p = Tensor.f32(arena, 3);
        AdamW adam = new AdamW(List.of(p), new OptimizerSettings(0.9, 0.999, 1e-8, 0, 0), arena);
        assertThrows(IllegalArgumentException.class, () -> adam.step(List.of(), 1e-3));
        assertThrows(IllegalArgumentException.class, () -> adam.step(List.of(Tensor.f32(arena, 4)), 1e-3));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerSettings(1.0, 0.999, 1e-8, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerSettings(0.9, 0.999, -1, 0, 0));
    }
}

package org.jtune.model.cpu;

import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Global-norm clipping against torch's rule computed in double. */
class GradientClippingTest extends TestFixture {
    private List<Tensor> randomGrads(double scale) {
        Tensor a = Tensor.f32(arena, 5, 3), b = Tensor.f32(arena, 11);
        for (Tensor t : List.of(a, b)) {
            for (int i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * scale));
            }
        }
        return List.of(a, b);
    }

    private static double[] all(List<Tensor> grads) {
        return grads.stream().flatMapToDouble(t -> {
            float[] f = t.toFloatArray();
            return java.util.stream.IntStream.range(0, f.length).mapToDouble(i -> f[i]);
        }).toArray();
    }

    @Test
    void scalesLargeGradientsToTheMaximumNorm() {
        List<Tensor> grads = randomGrads(3);
        double[] before = all(grads);
        double norm = 0;
        for (double x : before) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        double returned = GradientClipping.clipByGlobalNorm(grads, 1.0);
        assertEquals(norm, returned, 1e-12 * norm, "seed " + seed);
        double coefficient = 1.0 / (norm + 1e-6);
        double[] after = all(grads);
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i] * coefficient, after[i], 1e-6 * Math.abs(before[i] * coefficient) + 1e-12,
                    "seed " + seed + ", element " + i);
        }
        double clippedNorm = Math.sqrt(java.util.Arrays.stream(after).map(x -> x * x).sum());
        assertEquals(1.0, clippedNorm, 1e-5, "seed " + seed);
    }

    @Test
    void leavesSmallGradientsUnchanged() {
        List<Tensor> grads = randomGrads(0.01);
        double[] before = all(grads);
        double norm = GradientClipping.clipByGlobalNorm(grads, 1.0);
        assertEquals(Math.sqrt(java.util.Arrays.stream(before).map(x -> x * x).sum()), norm, 1e-12);
        assertArrayEquals(before, all(grads), "seed " + seed);
    }

    @Test
    void refusesNonFiniteNorms() {
        List<Tensor> grads = randomGrads(1);
        grads.get(1).set(3, Float.NaN);
        assertThrows(ArithmeticException.class, () -> GradientClipping.clipByGlobalNorm(grads, 1.0));
        grads.get(1).set(3, Float.POSITIVE_INFINITY);
        assertThrows(ArithmeticException.class, () -> GradientClipping.clipByGlobalNorm(grads, 1.0));
    }
}

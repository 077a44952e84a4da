package org.jtune.model.cpu;

import java.util.Random;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.fail;

/** Finite differences of double-precision functions and element-by-element comparisons. */
public final class GradCheck {
    private GradCheck() {}

    /** Central-difference gradient of {@code f} at {@code x}, every element (step scaled to the element). */
    public static double[] numericGradient(double[] x, ToDoubleFunction<double[]> f) {
        double[] g = new double[x.length];
        double[] probe = x.clone();
        for (int i = 0; i < x.length; i++) {
            double h = 1e-6 * Math.max(1, Math.abs(x[i]));
            probe[i] = x[i] + h;
            double up = f.applyAsDouble(probe);
            probe[i] = x[i] - h;
            double down = f.applyAsDouble(probe);
            probe[i] = x[i];
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    /** Σ w_i y_i: turns a vector output into the scalar whose gradient checks the backward for dOut = w. */
    public static double project(double[] y, double[] w) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += y[i] * w[i];
        }
        return s;
    }

    /**
     * Every element must satisfy |actual - expected| <= rtol·|expected| + atol·max|expected|; NaN fails.
     * The message names the seed so a failure can be replayed.
     */
    public static void assertClose(String what, long seed, double[] expected, float[] actual, double rtol, double atol) {
        if (expected.length != actual.length) {
            fail(what + " (seed " + seed + "): " + actual.length + " values, expected " + expected.length);
        }
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double tol = rtol * Math.abs(expected[i]) + atol * scale;
            if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
                fail(what + " (seed " + seed + "): element " + i + " is " + actual[i] + ", expected " + expected[i]
                        + " (tolerance " + tol + ", largest expected magnitude " + scale + ")");
            }
        }
    }

    public static double[] randomDoubles(Random rnd, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return x;
    }

    public static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }

    public static double[] toDoubles(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}

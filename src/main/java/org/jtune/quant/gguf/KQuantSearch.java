package org.jtune.quant.gguf;

/**
 * The scale searches of ggml's k-quants, step for step in float32 and in the same order of operations as ggml's
 * reference code, so that the chosen scales and codes (and so the bytes) are the same.
 */
final class KQuantSearch {
    /** ggml's threshold under which a group counts as all zeros. */
    static final float GROUP_MAX_EPS = 1e-15f;

    private KQuantSearch() {}

    /**
     * ggml's nearest_int: round to nearest, ties to even, by adding 1.5 * 2^23 and reading the mantissa (valid for
     * |v| < 2^22, which the callers guarantee).
     */
    static int nearestInt(float v) {
        float shifted = v + 12582912.f;
        return (Float.floatToRawIntBits(shifted) & 0x007fffff) - 0x00400000;
    }

    /**
     * Asymmetric codes 0..nmax with a scale and a minimum for {@code n} values, weighted: starts from the min/max
     * fit, then tries {@code nstep + 1} other scales and refits scale and minimum by weighted least squares, keeping
     * the fit of least weighted squared error (ggml's make_qkx2_quants, without the absolute-error option).
     *
     * @param codes receives the codes; {@code work} is scratch of at least {@code n}
     * @param minOut receives the minimum, negated (so that value ≈ scale * code - minOut[0])
     * @return the scale
     */
    static float scaleAndMin(int n, int nmax, float[] x, int xo, float[] weights, byte[] codes, int co,
                             float[] minOut, byte[] work, float rmin, float rdelta, int nstep) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                codes[co + i] = 0;
            }
            minOut[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            l = Math.max(0, Math.min(nmax, l));
            codes[co + i] = (byte) l;
            float diff = scale * l + min - x[xo + i];
            bestError += weights[i] * (diff * diff);
        }
        if (nstep < 1) {
            minOut[0] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                work[i] = (byte) l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * (work[i] & 0xFF) + thisMin - x[xo + i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(work, 0, codes, co, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        minOut[0] = -min;
        return scale;
    }

    /**
     * Symmetric codes in [-nmax, nmax) with one scale for {@code n} values, weighted by {@code x²}: the scale of the
     * largest-magnitude value, refit by least squares, then 18 nearby scales tried (ggml's make_qx_quants with
     * rmse_type 1 and no importance weights). Codes are stored offset by {@code nmax}.
     */
    static float symmetricScale(int n, int nmax, float[] x, int xo, byte[] codes, int co) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                codes[co + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            int l = nearestInt(iscale * v);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            codes[co + i] = (byte) (l + nmax);
            float w = v * v;
            sumLX += w * v * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0.0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = nearestInt(iscale * v);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = v * v;
                sumLX += w * v * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * x[xo + i]);
                    codes[co + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }
}

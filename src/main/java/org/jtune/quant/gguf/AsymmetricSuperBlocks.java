package org.jtune.quant.gguf;

/**
 * What Q4_K and Q5_K share: super-blocks of 256 values in 8 sub-blocks of 32, each fit with its own scale and
 * minimum (weighted by {@code rms + |x|}), the 8 scales and 8 minimums quantized to 6 bits against fp16 super-block
 * factors {@code d} and {@code dmin}, then every value coded again against its quantized scale and minimum.
 */
final class AsymmetricSuperBlocks {
    private final int nmax;
    private final float rmin;
    private final float rdelta;
    private final int nstep;

    AsymmetricSuperBlocks(int nmax, float rmin, float rdelta, int nstep) {
        this.nmax = nmax;
        this.rmin = rmin;
        this.rdelta = rdelta;
        this.nstep = nstep;
    }

    /**
     * Codes the 256 values at {@code x[xo]} into {@code codes[0..256)}, writes d, dmin and the packed scales at
     * {@code dst[o..o+16)}.
     */
    void quantize(float[] x, int xo, byte[] dst, int o, byte[] codes) {
        float[] scales = new float[8];
        float[] mins = new float[8];
        float[] weights = new float[32];
        float[] minOut = new float[1];
        byte[] work = new byte[32];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            int s = xo + 32 * j;
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[s + l] * x[s + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[s + l]);
            }
            scales[j] = KQuantSearch.scaleAndMin(32, nmax, x, s, weights, codes, 32 * j, minOut, work, rmin, rdelta,
                    nstep);
            mins[j] = minOut[0];
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        for (int j = 0; j < 8; j++) {
            // ggml stores the rounded values in uint8_t before clamping, hence the & 0xFF
            ls[j] = Math.min(63, KQuantSearch.nearestInt(invScale * scales[j]) & 0xFF);
            lm[j] = Math.min(63, KQuantSearch.nearestInt(invMin * mins[j]) & 0xFF);
        }
        Bytes.putHalf(dst, o, maxScale / 63.f);
        Bytes.putHalf(dst, o + 2, maxMin / 63.f);
        SuperBlockScales.pack(ls, lm, dst, o + 4);
        float d = Bytes.half(maxScale / 63.f);
        float dmin = Bytes.half(maxMin / 63.f);
        for (int j = 0; j < 8; j++) {
            float dj = d * SuperBlockScales.scale(dst, o + 4, j);
            if (dj == 0) {
                continue; // the codes of the first fit stay, as in ggml
            }
            float mj = dmin * SuperBlockScales.min(dst, o + 4, j);
            for (int i = 0; i < 32; i++) {
                int l = KQuantSearch.nearestInt((x[xo + 32 * j + i] + mj) / dj);
                codes[32 * j + i] = (byte) Math.max(0, Math.min(nmax, l));
            }
        }
    }
}

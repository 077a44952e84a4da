package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q6_K: super-blocks of 256 values, 210 bytes: 128 bytes of low nibbles, 64 bytes of top 2-bit pairs, 16 signed
 * 8-bit sub-block scales (one per 16 values) and an fp16 {@code d}; {@code value ≈ d·scale·(q - 32)}, q in 0..63.
 * In each 128 values, value {@code l} and {@code l + 64} share low-nibble byte {@code l}, {@code l + 32} and
 * {@code l + 96} share byte {@code l + 32}, and byte {@code l} of the high part holds the top bits of all four.
 */
final class Q6KEncoder implements RowEncoder {
    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        byte[] codes = new byte[256];
        float[] scales = new float[16];
        for (int b = 0; b < count / 256; b++) {
            int xo = offset + 256 * b;
            int out = dstOffset + 210 * b;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float scale = KQuantSearch.symmetricScale(16, 32, x, xo + 16 * ib, codes, 16 * ib);
                scales[ib] = scale;
                float abs = Math.abs(scale);
                if (abs > maxAbsScale) {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < KQuantSearch.GROUP_MAX_EPS) {
                for (int i = 0; i < 210; i++) {
                    dst[out + i] = 0;
                }
                continue;
            }
            float iscale = -128.f / maxScale;
            Bytes.putHalf(dst, out + 208, 1 / iscale);
            float d = Bytes.half(1 / iscale);
            for (int ib = 0; ib < 16; ib++) {
                dst[out + 192 + ib] = (byte) Math.min(127, KQuantSearch.nearestInt(iscale * scales[ib]));
            }
            for (int j = 0; j < 16; j++) {
                float dj = d * dst[out + 192 + j];
                if (dj == 0) {
                    continue; // the codes of the first fit stay, as in ggml
                }
                for (int i = 0; i < 16; i++) {
                    int l = KQuantSearch.nearestInt(x[xo + 16 * j + i] / dj);
                    codes[16 * j + i] = (byte) (Math.max(-32, Math.min(31, l)) + 32);
                }
            }
            int ql = out;
            int qh = out + 128;
            for (int j = 0; j < 256; j += 128) {
                for (int l = 0; l < 32; l++) {
                    int q1 = codes[j + l] & 0xF;
                    int q2 = codes[j + l + 32] & 0xF;
                    int q3 = codes[j + l + 64] & 0xF;
                    int q4 = codes[j + l + 96] & 0xF;
                    dst[ql + l] = (byte) (q1 | (q3 << 4));
                    dst[ql + l + 32] = (byte) (q2 | (q4 << 4));
                    dst[qh + l] = (byte) ((codes[j + l] >> 4) | ((codes[j + l + 32] >> 4) << 2)
                            | ((codes[j + l + 64] >> 4) << 4) | ((codes[j + l + 96] >> 4) << 6));
                }
                ql += 64;
                qh += 32;
            }
        }
    }
}

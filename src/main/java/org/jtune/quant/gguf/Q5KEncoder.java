package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q5_K: as Q4_K with 5-bit codes, 176 bytes per 256 values: fp16 {@code d}, fp16 {@code dmin}, 12 scale bytes, 32
 * bytes of fifth bits, 128 bytes of low nibbles. In the k-th group of 64 values, value {@code l} (low nibble) puts
 * its fifth bit at bit {@code 2k} of byte {@code l}, value {@code l + 32} (high nibble) at bit {@code 2k + 1}.
 * llama.cpp uses it for the value projections of 70B-class models in its Q4_K_M mix.
 */
final class Q5KEncoder implements RowEncoder {
    private static final AsymmetricSuperBlocks FIT = new AsymmetricSuperBlocks(31, -0.5f, 0.1f, 15);

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        byte[] codes = new byte[256];
        for (int b = 0; b < count / 256; b++) {
            int out = dstOffset + 176 * b;
            FIT.quantize(x, offset + 256 * b, dst, out, codes);
            int qh = out + 16;
            int ql = out + 48;
            for (int j = 0; j < 32; j++) {
                dst[qh + j] = 0;
            }
            int m1 = 1;
            int m2 = 2;
            for (int n = 0; n < 256; n += 64) {
                for (int j = 0; j < 32; j++) {
                    int l1 = codes[n + j];
                    if (l1 > 15) {
                        l1 -= 16;
                        dst[qh + j] |= (byte) m1;
                    }
                    int l2 = codes[n + j + 32];
                    if (l2 > 15) {
                        l2 -= 16;
                        dst[qh + j] |= (byte) m2;
                    }
                    dst[ql + j] = (byte) (l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
                ql += 32;
            }
        }
    }
}

package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q4_K: super-blocks of 256 values, 144 bytes: fp16 {@code d}, fp16 {@code dmin}, 12 bytes of 6-bit sub-block
 * scales and minimums, then 128 bytes of 4-bit codes ({@code value ≈ d·sc·q - dmin·m}); in each 64 values, value
 * {@code l} is the low nibble and value {@code l + 32} the high nibble of byte {@code l}.
 */
final class Q4KEncoder implements RowEncoder {
    private static final AsymmetricSuperBlocks FIT = new AsymmetricSuperBlocks(15, -1.f, 0.1f, 20);

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        byte[] codes = new byte[256];
        for (int b = 0; b < count / 256; b++) {
            int out = dstOffset + 144 * b;
            FIT.quantize(x, offset + 256 * b, dst, out, codes);
            int q = out + 16;
            for (int j = 0; j < 256; j += 64) {
                for (int l = 0; l < 32; l++) {
                    dst[q + l] = (byte) (codes[j + l] | (codes[j + l + 32] << 4));
                }
                q += 32;
            }
        }
    }
}

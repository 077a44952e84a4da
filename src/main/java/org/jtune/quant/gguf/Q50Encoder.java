package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q5_0: as Q4_0 with 5-bit codes, {@code d = m / -16}, {@code q = min(31, trunc(x / d + 16.5))}: the low 4 bits in
 * nibbles as Q4_0 packs them, the fifth bits of the 32 values in one little-endian 32-bit word. llama.cpp uses it
 * where a Q4_K tensor's rows are not a multiple of 256.
 */
final class Q50Encoder implements RowEncoder {
    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        for (int b = 0; b < count / 32; b++) {
            int base = offset + 32 * b;
            int out = dstOffset + 22 * b;
            float max = RowEncoder.largestMagnitude(x, base, 32);
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putHalf(dst, out, d);
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(31, (int) (x[base + j] * id + 16.5f));
                int q1 = Math.min(31, (int) (x[base + 16 + j] * id + 16.5f));
                dst[out + 6 + j] = (byte) ((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= ((q0 & 0x10) >>> 4) << j;
                qh |= ((q1 & 0x10) >>> 4) << (j + 16);
            }
            Bytes.putInt(dst, out + 2, qh);
        }
    }
}

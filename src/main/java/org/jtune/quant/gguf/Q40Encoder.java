package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q4_0: blocks of 32 values as an fp16 scale {@code d = m / -8}, {@code m} the value of largest magnitude, and 32
 * unsigned 4-bit codes {@code q = min(15, trunc(x / d + 8.5))} standing for {@code (q - 8) * d}; value {@code j}
 * and value {@code j + 16} share byte {@code j} (low and high nibble).
 */
final class Q40Encoder implements RowEncoder {
    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        for (int b = 0; b < count / 32; b++) {
            int base = offset + 32 * b;
            int out = dstOffset + 18 * b;
            float max = RowEncoder.largestMagnitude(x, base, 32);
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putHalf(dst, out, d);
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) (x[base + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (x[base + 16 + j] * id + 8.5f));
                dst[out + 2 + j] = (byte) (q0 | (q1 << 4));
            }
        }
    }
}

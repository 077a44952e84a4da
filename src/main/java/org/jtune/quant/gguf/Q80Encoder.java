package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Q8_0: blocks of 32 values as an fp16 scale {@code d = max|x| / 127} and 32 signed bytes {@code round(x / d)}
 * (rounded half away from zero, as C's roundf).
 */
final class Q80Encoder implements RowEncoder {
    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void encode(float[] x, int offset, int count, byte[] dst, int dstOffset) {
        requireBlocks(count);
        for (int b = 0; b < count / 32; b++) {
            int base = offset + 32 * b;
            int out = dstOffset + 34 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putHalf(dst, out, d);
            for (int j = 0; j < 32; j++) {
                dst[out + 2 + j] = (byte) roundHalfAway(x[base + j] * id);
            }
        }
    }

    /** C's roundf: halves go away from zero (Math.round would send -2.5 to -2). */
    static int roundHalfAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -a : a);
    }
}

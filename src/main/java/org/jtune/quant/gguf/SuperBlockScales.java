package org.jtune.quant.gguf;

/**
 * The 12-byte scale field of Q4_K and Q5_K super-blocks: eight 6-bit scales and eight 6-bit minimums. Sub-blocks 0-3
 * keep theirs in the low 6 bits of bytes 0-3 (scales) and 4-7 (minimums); sub-blocks 4-7 keep their low 4 bits in
 * bytes 8-11 and their top 2 bits in the top bits of bytes 0-7.
 */
final class SuperBlockScales {
    private SuperBlockScales() {}

    static void pack(int[] scales, int[] mins, byte[] dst, int o) {
        for (int i = 0; i < 12; i++) {
            dst[o + i] = 0;
        }
        for (int j = 0; j < 8; j++) {
            int ls = scales[j];
            int lm = mins[j];
            if (j < 4) {
                dst[o + j] = (byte) ls;
                dst[o + j + 4] = (byte) lm;
            } else {
                dst[o + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                dst[o + j - 4] |= (byte) ((ls >> 4) << 6);
                dst[o + j] |= (byte) ((lm >> 4) << 6);
            }
        }
    }

    /** Scale of sub-block {@code j} as stored (ggml's get_scale_min_k4). */
    static int scale(byte[] packed, int o, int j) {
        return j < 4 ? packed[o + j] & 63 : (packed[o + j + 4] & 0xF) | (((packed[o + j - 4] & 0xFF) >> 6) << 4);
    }

    /** Minimum of sub-block {@code j} as stored. */
    static int min(byte[] packed, int o, int j) {
        return j < 4 ? packed[o + j + 4] & 63 : ((packed[o + j + 4] & 0xFF) >> 4) | (((packed[o + j] & 0xFF) >> 6) << 4);
    }
}

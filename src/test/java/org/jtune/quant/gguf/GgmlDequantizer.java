package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Decodes ggml blocks back to float32, written for the tests from the block layouts ggml publishes
 * ({@code ggml-common.h}: block_q8_0, block_q4_0, block_q5_0, block_q4_K, block_q5_K, block_q6_K) and the meaning
 * ggml's dequantize_row functions give them; independent of the encoders.
 */
final class GgmlDequantizer {
    private GgmlDequantizer() {}

    static float[] decode(GgmlType type, byte[] data, int count) {
        float[] y = new float[count];
        switch (type) {
            case Q8_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    int o = 34 * b;
                    float d = half(data, o);
                    for (int j = 0; j < 32; j++) {
                        y[32 * b + j] = data[o + 2 + j] * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    int o = 18 * b;
                    float d = half(data, o);
                    for (int j = 0; j < 16; j++) {
                        int q = data[o + 2 + j] & 0xFF;
                        y[32 * b + j] = ((q & 0xF) - 8) * d;
                        y[32 * b + 16 + j] = ((q >> 4) - 8) * d;
                    }
                }
            }
            case Q5_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    int o = 22 * b;
                    float d = half(data, o);
                    int qh = (data[o + 2] & 0xFF) | (data[o + 3] & 0xFF) << 8 | (data[o + 4] & 0xFF) << 16
                            | (data[o + 5] & 0xFF) << 24;
                    for (int j = 0; j < 16; j++) {
                        int q = data[o + 6 + j] & 0xFF;
                        int hi0 = (qh >>> j) & 1;
                        int hi1 = (qh >>> (j + 16)) & 1;
                        y[32 * b + j] = (((q & 0xF) | hi0 << 4) - 16) * d;
                        y[32 * b + 16 + j] = (((q >> 4) | hi1 << 4) - 16) * d;
                    }
                }
            }
            case Q4_K, Q5_K -> {
                boolean five = type == GgmlType.Q5_K;
                int blockBytes = five ? 176 : 144;
                for (int b = 0; b < count / 256; b++) {
                    int o = blockBytes * b;
                    float d = half(data, o);
                    float dmin = half(data, o + 2);
                    int qs = o + (five ? 48 : 16);
                    for (int group = 0; group < 4; group++) {
                        for (int half = 0; half < 2; half++) {
                            int sub = 2 * group + half;
                            float scale = d * scale(data, o + 4, sub);
                            float min = dmin * min(data, o + 4, sub);
                            for (int l = 0; l < 32; l++) {
                                int byteValue = data[qs + 32 * group + l] & 0xFF;
                                int q = half == 0 ? byteValue & 0xF : byteValue >> 4;
                                if (five) {
                                    q |= ((data[o + 16 + l] >> (2 * group + half)) & 1) << 4;
                                }
                                y[256 * b + 64 * group + 32 * half + l] = scale * q - min;
                            }
                        }
                    }
                }
            }
            case Q6_K -> {
                for (int b = 0; b < count / 256; b++) {
                    int o = 210 * b;
                    float d = half(data, o + 208);
                    for (int i = 0; i < 256; i++) {
                        int part = i / 128;          // which 128-value half
                        int within = i % 128;
                        int quarter = within / 32;   // 0..3: low nibble of ql[l], ql[l+32], then high nibbles
                        int l = within % 32;
                        int ql = data[o + 64 * part + l + (quarter % 2) * 32] & 0xFF;
                        int low = quarter < 2 ? ql & 0xF : ql >> 4;
                        int high = ((data[o + 128 + 32 * part + l] & 0xFF) >> (2 * quarter)) & 3;
                        int q = (low | high << 4) - 32;
                        int scale = data[o + 192 + i / 16];
                        y[256 * b + i] = d * scale * q;
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return y;
    }

    private static float half(byte[] data, int o) {
        return Float.float16ToFloat((short) ((data[o] & 0xFF) | (data[o + 1] & 0xFF) << 8));
    }

    /** 6-bit scale of sub-block j from the 12 scale bytes at o (ggml-common.h's K_SCALE_SIZE packing). */
    private static int scale(byte[] data, int o, int j) {
        return j < 4 ? data[o + j] & 63 : (data[o + j + 4] & 0xF) | ((data[o + j - 4] & 0xFF) >> 6) << 4;
    }

    private static int min(byte[] data, int o, int j) {
        return j < 4 ? data[o + j + 4] & 63 : (data[o + j + 4] & 0xFF) >> 4 | ((data[o + j] & 0xFF) >> 6) << 4;
    }
}

package org.jtune.quant.gguf;

/** Little-endian stores into byte arrays, and ggml's half-precision scale conversions. */
final class Bytes {
    private Bytes() {}

    static void putShort(byte[] dst, int offset, short value) {
        dst[offset] = (byte) value;
        dst[offset + 1] = (byte) (value >> 8);
    }

    static void putInt(byte[] dst, int offset, int value) {
        dst[offset] = (byte) value;
        dst[offset + 1] = (byte) (value >> 8);
        dst[offset + 2] = (byte) (value >> 16);
        dst[offset + 3] = (byte) (value >> 24);
    }

    /** ggml's fp32 to fp16 (round to nearest even), stored little-endian. */
    static void putHalf(byte[] dst, int offset, float value) {
        putShort(dst, offset, Float.floatToFloat16(value));
    }

    /** The float value of a stored fp16 scale, as ggml reads it back while quantizing. */
    static float half(float value) {
        return Float.float16ToFloat(Float.floatToFloat16(value));
    }
}

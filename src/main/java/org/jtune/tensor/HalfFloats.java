package org.jtune.tensor;

/** Conversions between float32 and the two 16-bit float formats, rounding as torch does. */
public final class HalfFloats {
    private HalfFloats() {}

    /** bf16 bits to float32: bf16 is the top half of a float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float32 to bf16 bits, round to nearest even; NaN becomes the canonical quiet NaN 0x7FC0. */
    public static short floatToBf16(float value) {
        int u = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) 0x7FC0;
        }
        return (short) ((u + 0x7FFF + ((u >>> 16) & 1)) >>> 16);
    }

    /** IEEE binary16 bits to float32. */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** float32 to IEEE binary16 bits, round to nearest even. */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }
}

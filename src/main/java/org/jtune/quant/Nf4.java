package org.jtune.quant;

/**
 * The NF4 4-bit code table of bitsandbytes and the exact quantization rule that maps a normalized
 * value to its code (formats spec §1).
 */
public final class Nf4 {
    private Nf4() {}

    /** Code used for the padding nibble of an odd element count: the code whose value is 0.0. */
    public static final int ZERO_CODE = 7;

    private static final int[] TABLE_BITS = {
        0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F, 0xBDBA7871, 0x00000000,
        0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A, 0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000,
    };

    /** T[k] lies between code k and k+1; the CUDA decision tree compares against these literals. */
    private static final int[] THRESHOLD_BITS = {
        0xBF591CD8, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC, 0xBD3A7871,
        0x3D22FAFF, 0x3DF64862, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9, 0x3F006D04, 0x3F248DAF, 0x3F5C89DA,
    };

    private static final float[] TABLE = floats(TABLE_BITS);
    private static final float[] THRESHOLDS = floats(THRESHOLD_BITS);

    /** The thresholds followed by +inf, so that code 15 needs no special case below. */
    private static final float[] THRESHOLDS_TO_INFINITY = thresholdsToInfinity();

    /**
     * For each bucket of the floats sharing their top 16 bits, the code of its smallest non-NaN
     * member. A bucket spans under 1% relative width, so at most one threshold falls inside it and
     * one comparison finishes the job: several times faster than 15 comparisons per weight.
     */
    private static final byte[] BUCKET_CODE = bucketCodes();

    /** The 16 code values, index = code. A fresh copy. */
    public static float[] table() {
        return TABLE.clone();
    }

    /** The value of one code (0..15). */
    public static float value(int code) {
        return TABLE[code];
    }

    /** The 15 thresholds T[0..14]. A fresh copy. */
    public static float[] thresholds() {
        return THRESHOLDS.clone();
    }

    /** The code of a normalized value: the number of thresholds strictly below x; NaN gives 0. */
    public static int code(float x) {
        if (Float.isNaN(x)) {
            return 0; // every comparison of the CUDA decision tree is false
        }
        int base = BUCKET_CODE[Float.floatToRawIntBits(x) >>> 16];
        return base + (x > THRESHOLDS_TO_INFINITY[base] ? 1 : 0);
    }

    private static int countBelow(float x) {
        int count = 0;
        for (float t : THRESHOLDS) {
            if (x > t) {
                count++;
            }
        }
        return count;
    }

    private static byte[] bucketCodes() {
        byte[] codes = new byte[1 << 16];
        for (int bucket = 0; bucket < codes.length; bucket++) {
            float first = Float.intBitsToFloat(bucket << 16);
            float last = Float.intBitsToFloat((bucket << 16) | 0xFFFF);
            // The bit pattern orders by magnitude, so the smallest member is "first" for positive
            // buckets and "last" for negative ones; in the two infinity buckets "first" is the only
            // non-NaN member.
            int code = Float.isNaN(last) ? countBelow(first) : Math.min(countBelow(first), countBelow(last));
            codes[bucket] = (byte) code;
        }
        return codes;
    }

    private static float[] thresholdsToInfinity() {
        float[] extended = java.util.Arrays.copyOf(THRESHOLDS, 16);
        extended[15] = Float.POSITIVE_INFINITY;
        return extended;
    }

    private static float[] floats(int[] bits) {
        float[] values = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            values[i] = Float.intBitsToFloat(bits[i]);
        }
        return values;
    }
}

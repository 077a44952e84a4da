package org.jtune.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Nf4Test {
    /** Spec §1, hex column. */
    static final int[] SPEC_TABLE = {
        0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F, 0xBDBA7871, 0x00000000,
        0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A, 0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000,
    };
    static final String[] SPEC_DECIMALS = {
        "-1.0", "-0.6961928009986877", "-0.5250730514526367", "-0.39491748809814453", "-0.28444138169288635",
        "-0.18477343022823334", "-0.09105003625154495", "0.0", "0.07958029955625534", "0.16093020141124725",
        "0.24611230194568634", "0.33791524171829224", "0.44070982933044434", "0.5626170039176941",
        "0.7229568362236023", "1.0",
    };
    /** Spec §1, threshold hex column. */
    static final int[] SPEC_THRESHOLDS = {
        0xBF591CD8, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC, 0xBD3A7871,
        0x3D22FAFF, 0x3DF64862, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9, 0x3F006D04, 0x3F248DAF, 0x3F5C89DA,
    };

    @Test
    void tableMatchesSpecBitsAndDecimals() {
        float[] table = Nf4.table();
        assertEquals(16, table.length);
        for (int c = 0; c < 16; c++) {
            assertEquals(SPEC_TABLE[c], Float.floatToRawIntBits(table[c]), "code " + c);
            assertEquals(SPEC_TABLE[c], Float.floatToRawIntBits((float) Double.parseDouble(SPEC_DECIMALS[c])), "decimal " + c);
        }
    }

    /** The thresholds are the float32 midpoints of neighbouring codes (spec §1, local check). */
    @Test
    void thresholdsMatchSpecAndAreFloatMidpoints() {
        float[] t = Nf4.thresholds();
        assertEquals(15, t.length);
        for (int k = 0; k < 15; k++) {
            assertEquals(SPEC_THRESHOLDS[k], Float.floatToRawIntBits(t[k]), "T[" + k + "]");
            float a = Float.intBitsToFloat(SPEC_TABLE[k]);
            float b = Float.intBitsToFloat(SPEC_TABLE[k + 1]);
            assertEquals(SPEC_THRESHOLDS[k], Float.floatToRawIntBits((a + b) / 2), "midpoint " + k);
            assertEquals(SPEC_THRESHOLDS[k], Float.floatToRawIntBits((float) (((double) a + b) / 2)), "double midpoint " + k);
        }
    }

    /** Reference: count of spec thresholds strictly below x (NaN compares false everywhere). */
    static int referenceCode(float x) {
        int count = 0;
        for (int bits : SPEC_THRESHOLDS) {
            if (x > Float.intBitsToFloat(bits)) {
                count++;
            }
        }
        return count;
    }

    private static void check(float x, String what) {
        assertEquals(referenceCode(x), Nf4.code(x), what + ": x = " + x + " (bits 0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
    }

    @Test
    void codeAtThresholdsAndTheirNeighbours() {
        for (int k = 0; k < 15; k++) {
            float t = Float.intBitsToFloat(SPEC_THRESHOLDS[k]);
            assertEquals(k, Nf4.code(t), "a tie goes to the lower code, T[" + k + "]");
            float x = t;
            for (int step = 0; step < 40; step++) {
                x = Math.nextDown(x);
                check(x, "below T[" + k + "]");
            }
            x = t;
            for (int step = 0; step < 40; step++) {
                x = Math.nextUp(x);
                check(x, "above T[" + k + "]");
            }
        }
    }

    @Test
    void codeAtEveryBucketBoundaryAndSpecialValues() {
        for (int top = 0; top < 1 << 16; top++) {
            check(Float.intBitsToFloat(top << 16), "bucket start");
            check(Float.intBitsToFloat((top << 16) | 0xFFFF), "bucket end");
        }
        assertEquals(0, Nf4.code(Float.NaN));
        assertEquals(0, Nf4.code(Float.intBitsToFloat(0x7F800001)));
        assertEquals(0, Nf4.code(Float.intBitsToFloat(0xFFC00000)));
        assertEquals(15, Nf4.code(Float.POSITIVE_INFINITY));
        assertEquals(0, Nf4.code(Float.NEGATIVE_INFINITY));
        assertEquals(7, Nf4.code(0.0f));
        assertEquals(7, Nf4.code(-0.0f));
    }

    @Test
    void codeOfRandomFloats() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 2_000_000; i++) {
            float x = i % 2 == 0 ? Float.intBitsToFloat(random.nextInt()) : (float) random.nextDouble(-1.1, 1.1);
            check(x, "seed " + seed);
        }
    }
}

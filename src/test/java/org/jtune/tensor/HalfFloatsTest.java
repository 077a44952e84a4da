package org.jtune.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    /** Every bf16 value converts to float32 and back unchanged (NaNs become the canonical NaN). */
    @Test
    void everyBf16RoundTrips() {
        for (int b = 0; b < 65536; b++) {
            float f = HalfFloats.bf16ToFloat((short) b);
            short back = HalfFloats.floatToBf16(f);
            int expected = Float.isNaN(f) ? 0x7FC0 : b;
            assertEquals(expected, back & 0xFFFF, "bf16 bits 0x" + Integer.toHexString(b));
        }
    }

    /** Rounding to bf16 picks the nearest representable value, ties to the even one (checked in exact decimal). */
    @Test
    void floatToBf16RoundsToNearestEven() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(f) || Float.isInfinite(f) || Math.abs(f) > 3.3e38f) {
                continue;
            }
            int low = Float.floatToRawIntBits(f) & 0xFFFF0000;
            float down = Float.intBitsToFloat(low);
            float up = Float.intBitsToFloat(low + 0x10000);
            BigDecimal x = new BigDecimal(f);
            int cmp = x.subtract(new BigDecimal(down)).abs().compareTo(new BigDecimal(up).subtract(x).abs());
            float expected = cmp < 0 ? down : cmp > 0 ? up : (((low >>> 16) & 1) == 0 ? down : up);
            float actual = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                    "seed " + seed + ", input " + f);
        }
    }
}

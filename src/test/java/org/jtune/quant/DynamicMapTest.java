package org.jtune.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DynamicMapTest {

    @Test
    void spotChecksFromSpec() {
        float[] map = DynamicMap.table();
        assertEquals(256, map.length);
        int[][] expected = {
            {0, 0xBF7E3333}, {1, 0xBF7A999A}, {35, 0xBF003333}, {63, 0xBDDB3334}, {64, 0xBDC9EB85},
            {126, 0xB513A3B7}, {127, 0x00000000}, {128, 0x3513A3B7}, {190, 0x3DC9EB85}, {191, 0x3DDB3334},
            {254, 0x3F7E3333}, {255, 0x3F800000},
        };
        for (int[] e : expected) {
            assertEquals(e[1], Float.floatToRawIntBits(map[e[0]]), "index " + e[0]);
        }
        assertEquals(-0.99296874f, map[0]);
        for (int i = 1; i < 256; i++) {
            assertTrue(map[i] > map[i - 1], "ascending at " + i);
        }
    }

    /**
     * Regenerates the map from bitsandbytes' generator (spec §3.1) with torch's CPU linspace rule:
     * each point single-rounded (FMA) from the nearer end.
     */
    @Test
    void equalsTheGeneratorWithFmaLinspace() {
        float[] values = new float[256];
        int count = 0;
        for (int i = 0; i <= 6; i++) {
            int steps = (1 << i) + 1;
            float step = (1.0f - 0.1f) / (steps - 1);
            float[] b = new float[steps];
            for (int k = 0; k < steps; k++) {
                b[k] = k < steps / 2 ? Math.fma(step, (float) k, 0.1f) : Math.fma(-step, (float) (steps - 1 - k), 1.0f);
            }
            float scale = (float) Double.parseDouble("1e" + (i - 6));
            for (int k = 0; k + 1 < steps; k++) {
                float mean = (b[k] + b[k + 1]) / 2;
                values[count++] = scale * mean;
                values[count++] = -(scale * mean);
            }
        }
        values[count++] = 0.0f;
        values[count++] = 1.0f;
        assertEquals(256, count);
        Arrays.sort(values);
        float[] map = DynamicMap.table();
        for (int i = 0; i < 256; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(map[i]), "index " + i);
        }
    }

    /**
     * The CUDA search finds the nearest map value (distances in double); only where x equals the
     * midpoint of two neighbours as the kernel computes it, fl32(fl32(a+b)*0.5f), may it pick either.
     */
    @Test
    void quantizeIsNearestExceptAtMidpoints() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] map = DynamicMap.table();
        int midpoints = 0;
        for (int i = 0; i < 200_000 + 3 * 255; i++) {
            float x;
            if (i < 255) {
                x = (map[i] + map[i + 1]) * 0.5f;
            } else if (i < 510) {
                x = Math.nextUp((map[i - 255] + map[i - 254]) * 0.5f);
            } else if (i < 765) {
                x = map[i - 510];
            } else {
                double r = random.nextDouble(-1.0, 1.0);
                x = (float) (i % 3 == 0 ? r : r * Math.pow(10, -random.nextInt(7)));
            }
            int actual = DynamicMap.quantize(x, map);
            int nearest = 0;
            for (int c = 1; c < 256; c++) {
                if (Math.abs((double) x - map[c]) < Math.abs((double) x - map[nearest])) {
                    nearest = c;
                }
            }
            String where = "seed " + seed + ", x = " + x + ", nearest " + nearest + ", got " + actual;
            int other = -1;
            if (nearest > 0 && x == (map[nearest - 1] + map[nearest]) * 0.5f) {
                other = nearest - 1;
            } else if (nearest < 255 && x == (map[nearest] + map[nearest + 1]) * 0.5f) {
                other = nearest + 1;
            }
            if (other >= 0) {
                midpoints++;
                assertTrue(actual == nearest || actual == other, where);
            } else {
                assertEquals(nearest, actual, where);
            }
        }
        assertTrue(midpoints >= 255, "the midpoints among the inputs were exercised");
    }

    /** A value beyond the ends maps to the end codes. */
    @Test
    void valuesBeyondTheEnds() {
        float[] map = DynamicMap.table();
        assertEquals(255, DynamicMap.quantize(1.5f, map));
        assertEquals(0, DynamicMap.quantize(-1.5f, map));
        assertEquals(127, DynamicMap.quantize(0.0f, map));
    }
}

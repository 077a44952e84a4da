package org.jtune.model;

import org.jtune.model.cpu.CpuOps;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RoPE frequencies and rotation against values measured with transformers 5.17 (formats spec §9.1, §9.2). */
class RopeFrequenciesTest {
    private static final String DEFAULT_HEX = "3F800000 3F5DAFD7 3F3FF911 3F263DE0 3F0FF59A 3EF953CF 3ED7E89B 3EBAF81B "
            + "3EA1E89B 3E8C3504 3E72D423 3E5247ED 3E361887 3E1DB040 3E088D77 3DEC7FD6 3DCCCCCD 3DB15978 3D99940D "
            + "3D84FE4D 3D6655C2 3D47763F 3D2CBA15 3D159348 3D0186E3 3CE054D2 3CC2434F 3CA8398B 3C91AD39 3C7C4D33 "
            + "3C5A7BF2 3C3D3311 3C23D70A 3C0DE12D 3BF5B9B0 3BD4CA15 3BB8449C 3B9F91CC 3B8A2E77 3B6F520E 3B4F3E38 "
            + "3B33770F 3B1B690D 3B06946F 3AE91528 3AC9D75C 3AAEC98E 3A975C0E 3A83126F 3A6301E2 3A44948C 3A2A3B44 "
            + "3A136A16 39FF4FAC 39DD1725 39BF74D7 39A5CB60 398F9272 3978A815 395753E4 393A7753 39217916 390BD472 "
            + "38F22CE2";
    private static final String LLAMA3_HEX = "3F800000 3F508AC1 3F29E1C6 3F0A6384 3EE177BC 3EB7AB7D 3E959EE3 3E73C461 "
            + "3E4693B0 3E21C3A0 3E03C6A0 3DD6B19C 3DAEE4AD 3D8E7898 3D681E67 3D3D1684 3D1A08C8 3CFAF53F 3CCC6F49 "
            + "3CA68939 3C87A9C3 3C5D06EC 3C340D6D 3C12AC7F 3BEEF74F 3BC2AA76 3B9E9402 3B812E35 3B527720 3B0DFD06 "
            + "3AB3D11D 3A60979E 3A0995D2 39A3F108 393B2DD2 38C86886 38A3418D 3884FDBF 3858AC81 38308199 380FC8F8 "
            + "37EA426F 37BED4F4 379B7475 377D45C3 374E51F5 3728126B 3708EA0F 36DF10C4 36B5B687 369406CB 36712B80 "
            + "36447610 36200A69 36025F34 35D46808 35AD07A7 358CF400 3565A54D 353B12C7 351864A7 34F848C2 34CA41B0 "
            + "34A4C2FF";

    private static int[] bits(float[] values) {
        int[] b = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = Float.floatToRawIntBits(values[i]);
        }
        return b;
    }

    private static int[] parseHex(String hex) {
        String[] parts = hex.trim().split("\\s+");
        int[] b = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            b[i] = Integer.parseUnsignedInt(parts[i], 16);
        }
        return b;
    }

    @Test
    void defaultInvFreqIsBitExact() {
        float[] inv = new RopeFrequencies(128, 10000, RopeScaling.NONE, 4096).forMaxPosition(10);
        assertArrayEquals(parseHex(DEFAULT_HEX), bits(inv));
        assertEquals(0.8659643530845642f, inv[1]);
        assertEquals(0.00011547819303814322f, inv[63]);
    }

    @Test
    void llama3InvFreqIsBitExact() {
        RopeScaling s = RopeScaling.llama3(8, 1, 4, 8192);
        float[] inv = new RopeFrequencies(128, 500000, s, 131072).forMaxPosition(10);
        assertArrayEquals(parseHex(LLAMA3_HEX), bits(inv));
        assertEquals(0.016560440883040428f, inv[20]);
        assertEquals(3.068925877869333e-07f, inv[63]);
    }

    @Test
    void linearScalingDividesByFactor() {
        float[] base = RopeFrequencies.defaultInvFreq(10000, 64);
        float[] inv = new RopeFrequencies(64, 10000, RopeScaling.linear(4), 2048).forMaxPosition(5000);
        for (int i = 0; i < base.length; i++) {
            assertEquals(base[i] / 4f, inv[i]);
        }
    }

    @Test
    void dynamicScalingGrowsAndResetsLikeTransformers() {
        int d = 64, max = 100;
        double theta = 10000, factor = 2;
        RopeFrequencies f = new RopeFrequencies(d, theta, RopeScaling.dynamic(factor), max);
        float[] original = RopeFrequencies.defaultInvFreq(theta, d);
        assertArrayEquals(original, f.forMaxPosition(50));
        // seq_len 150 > 100: base' = theta * (2*150/100 - 1)^(64/62)
        double grownBase = theta * Math.pow(factor * 150 / max - (factor - 1), (double) d / (d - 2));
        float[] grown = RopeFrequencies.defaultInvFreq(grownBase, d);
        assertArrayEquals(grown, f.forMaxPosition(149));
        for (int i = 1; i < d / 2; i++) {
            assertTrue(grown[i] < original[i], "frequency " + i + " must shrink when the context grows");
        }
        // 120 <= cached 150 and >= max: keeps the grown frequencies
        assertArrayEquals(grown, f.forMaxPosition(119));
        // shorter than max_position_embeddings again: back to the original
        assertArrayEquals(original, f.forMaxPosition(20));
    }

    @Test
    void cosAndSinMatchTransformers() {
        // Rotating the unit vectors e_j and e_{j+d/2} by the op exposes cos and sin at each position.
        float[] inv = RopeFrequencies.defaultInvFreq(10000, 128);
        try (Arena arena = Arena.ofShared()) {
            Tensor invT = Tensor.of(arena, inv, 64);
            float[] cosPos1 = rotate(arena, invT, 1, 0);
            assertUlps(0.5403023362159729f, cosPos1[0], "cos(pos 1, j 0)");
            assertUlps(0.6479058265686035f, rotate(arena, invT, 1, 1)[1], "cos(pos 1, j 1)");
            assertUlps(0.7317609786987305f, rotate(arena, invT, 1, 2)[2], "cos(pos 1, j 2)");
            // sin at j >= d/2 is sin of angle j - d/2: q'[j+64] = q[j+64]*cos + q[j]*sin, so rotate e_j.
            assertUlps(-0.9978212118148804f, rotate(arena, invT, 4095, 0)[64], "sin(pos 4095, j 64)");
            assertUlps(0.6699061989784241f, rotate(arena, invT, 4095, 1)[65], "sin(pos 4095, j 65)");
        }
    }

    private static float[] rotate(Arena arena, Tensor invT, int pos, int unitIndex) {
        float[] e = new float[128];
        e[unitIndex] = 1;
        Tensor x = Tensor.of(arena, e, 1, 128);
        new CpuOps().rope(x, 1, Tensor.ofInts(arena, new int[] {pos}), invT, false);
        return x.toFloatArray();
    }

    /** Within 2 ulp: torch's float32 cos/sin are not required to be correctly rounded. */
    private static void assertUlps(float expected, float actual, String what) {
        assertTrue(Math.abs(actual - expected) <= 2 * Math.ulp(expected),
                what + ": " + actual + " vs " + expected);
    }
}

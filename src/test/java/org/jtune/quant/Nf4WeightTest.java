package org.jtune.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

/** Quantization and dequantization against a straightforward reference written here. */
class Nf4WeightTest {
    private static final float[] NF4 = new float[16];

    static {
        for (int c = 0; c < 16; c++) {
            NF4[c] = Float.intBitsToFloat(Nf4Test.SPEC_TABLE[c]);
        }
    }

    /** Reference NF4 quantization result: absmax per block and one code per element. */
    record Reference(float[] absmax, int[] codes) {}

    /**
     * Reference: absmax as the largest |w| (NaN skipped), x = fl32(w * fl32(1/absmax)), code = the
     * nearest table value by brute force in double, an exact tie going to the lower code. The one
     * exception is x equal to a float32 threshold of the CUDA tree, which also goes to the lower
     * code (the literal lies a hair off the exact midpoint).
     */
    static Reference reference(float[] w, int blocksize) {
        int blocks = Math.ceilDiv(w.length, blocksize);
        float[] absmax = new float[blocks];
        int[] codes = new int[w.length];
        for (int b = 0; b < blocks; b++) {
            double max = 0;
            for (int i = b * blocksize; i < Math.min(w.length, (b + 1) * blocksize); i++) {
                if (!Float.isNaN(w[i])) {
                    max = Math.max(max, Math.abs((double) w[i]));
                }
            }
            absmax[b] = (float) max;
            float inv = (float) (1.0 / max);
            for (int i = b * blocksize; i < Math.min(w.length, (b + 1) * blocksize); i++) {
                codes[i] = nearestCode((float) ((double) w[i] * inv));
            }
        }
        return new Reference(absmax, codes);
    }

    static int nearestCode(float x) {
        if (Float.isNaN(x)) {
            return 0;
        }
        for (int k = 0; k < 15; k++) {
            if (x == Float.intBitsToFloat(Nf4Test.SPEC_THRESHOLDS[k])) {
                return k;
            }
        }
        int best = 0;
        for (int c = 1; c < 16; c++) {
            if (Math.abs((double) x - NF4[c]) < Math.abs((double) x - NF4[best])) {
                best = c;
            }
        }
        return best;
    }

    static MemorySegment encode(float[] w, DType dtype, Arena arena) {
        MemorySegment s = arena.allocate((long) w.length * dtype.byteSize());
        for (int i = 0; i < w.length; i++) {
            switch (dtype) {
                case F32 -> s.setAtIndex(LittleEndian.F32, i, w[i]);
                case BF16 -> s.setAtIndex(LittleEndian.I16, i, HalfFloats.floatToBf16(w[i]));
                case F16 -> s.setAtIndex(LittleEndian.I16, i, HalfFloats.floatToF16(w[i]));
                default -> throw new IllegalArgumentException();
            }
        }
        return s;
    }

    /** Values representable in dtype, so the reference sees exactly what the quantizer reads. */
    static float[] randomWeights(SplittableRandom random, int n, DType dtype) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) (random.nextGaussian() * Math.exp(random.nextDouble(-6, 2)));
            w[i] = switch (dtype) {
                case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v));
                case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(v));
                default -> v;
            };
        }
        return w;
    }

    static int codeAt(MemorySegment packed, long i) {
        int b = Byte.toUnsignedInt(packed.get(LittleEndian.U8, i / 2));
        return i % 2 == 0 ? b >>> 4 : b & 0xF;
    }

    @Test
    void packedBytesAndAbsmaxEqualTheReference() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int[] blocksizes = {32, 64, 128, 256, 4096};
        for (int trial = 0; trial < 30; trial++) {
            DType dtype = new DType[] {DType.F32, DType.BF16, DType.F16}[trial % 3];
            int blocksize = blocksizes[random.nextInt(blocksizes.length)];
            int rows = 1 + random.nextInt(trial < 3 ? 1001 : 37);
            int cols = 1 + 2 * random.nextInt(300); // odd: n is odd whenever rows is odd
            float[] w = randomWeights(random, rows * cols, dtype);
            String where = "seed " + seed + ", trial " + trial + ", " + dtype + " [" + rows + "," + cols + "] bs " + blocksize;
            try (Arena arena = Arena.ofShared()) { // shared: blocks are quantized in parallel
                Nf4Weight q = Nf4Weight.quantize("w", encode(w, dtype, arena), dtype, new long[] {rows, cols},
                        blocksize, false, arena);
                Reference ref = reference(w, blocksize);
                Absmax.Plain absmax = (Absmax.Plain) q.state().absmax();
                assertEquals(ref.absmax.length, absmax.blocks(), where);
                for (int b = 0; b < ref.absmax.length; b++) {
                    assertEquals(Float.floatToRawIntBits(ref.absmax[b]), Float.floatToRawIntBits(absmax.blockAbsmax(b)),
                            where + ", block " + b);
                }
                assertEquals((w.length + 1) / 2, q.packedBytes(), where);
                for (int i = 0; i < w.length; i++) {
                    assertEquals(ref.codes[i], codeAt(q.packed(), i), where + ", element " + i + " = " + w[i]);
                }
                if (w.length % 2 == 1) {
                    assertEquals(Nf4.ZERO_CODE, codeAt(q.packed(), w.length), where + ": padding nibble");
                }
            }
        }
    }

    /**
     * Bound on |dequantize(quantize(w)) - w|. With x = w/absmax (|x| <= 1) and the nearest code c,
     * |NF4[c] - x| <= G/2 where G = 0.3038 is the largest gap between neighbouring codes (between
     * -1.0 and -0.6962). Rounding adds: fl32(1/absmax) and fl32(w*inv) move x by at most 2 ulp of
     * 1 (2 * 2^-24); a float threshold can lie half an ulp off the exact midpoint (2^-24 more); the
     * final product NF4[c]*absmax rounds by at most 2^-24*absmax. In total
     * |w' - w| <= absmax * (G/2 + 4 * 2^-24).
     */
    static double errorBound(float absmax) {
        double maxGap = 0;
        for (int c = 0; c < 15; c++) {
            maxGap = Math.max(maxGap, (double) NF4[c + 1] - NF4[c]);
        }
        return absmax * (maxGap / 2 + 4 * Math.pow(2, -24));
    }

    @Test
    void dequantizedValuesAreExactProductsWithinTheBound() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int trial = 0; trial < 12; trial++) {
            DType dtype = new DType[] {DType.F32, DType.BF16, DType.F16}[trial % 3];
            int rows = 1 + random.nextInt(20);
            int cols = 1 + 2 * random.nextInt(200);
            int n = rows * cols;
            float[] w = randomWeights(random, n, dtype);
            String where = "seed " + seed + ", trial " + trial + ", " + dtype + " n " + n;
            try (Arena arena = trial % 2 == 0 ? Arena.ofShared() : Arena.ofConfined()) {
                Nf4Weight q = Nf4Weight.quantize("w", encode(w, dtype, arena), dtype, new long[] {rows, cols}, 64, false, arena);
                Reference ref = reference(w, 64);
                MemorySegment f32 = arena.allocate(n * 4L);
                MemorySegment bf16 = arena.allocate(n * 2L);
                q.dequantizeTo(f32, DType.F32);
                q.dequantizeTo(bf16, DType.BF16);
                for (int i = 0; i < n; i++) {
                    float absmax = ref.absmax[i / 64];
                    float expected = (float) ((double) NF4[ref.codes[i]] * absmax);
                    float got = f32.getAtIndex(LittleEndian.F32, i);
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got), where + ", element " + i);
                    assertTrue(Math.abs((double) got - w[i]) <= errorBound(absmax),
                            where + ", element " + i + ": " + w[i] + " -> " + got + ", absmax " + absmax);
                    assertEquals(HalfFloats.floatToBf16(expected), bf16.getAtIndex(LittleEndian.I16, i), where + ", bf16 " + i);
                }
            }
        }
    }

    @Test
    void specVectorTv1() {
        float[] w = new float[128];
        for (int i = 0; i < 128; i++) {
            w[i] = (float) (((i * 37) % 127 - 63) / 256.0);
        }
        try (Arena arena = Arena.ofConfined()) {
            Nf4Weight q = Nf4Weight.quantize("tv1", encode(w, DType.BF16, arena), DType.BF16, new long[] {2, 64}, 64, false, arena);
            assertEquals("039e16d04ae27d14bf28e15cf39e16c03ae27d04bf28e15cf39e16c03ae17d04bf28d15bf29e16c03ae16d04af27d15bf28e15c039e16d04ae27d14bf28e15c0",
                    HexFormat.of().formatHex(q.packed().toArray(LittleEndian.U8)));
            for (int b = 0; b < 2; b++) {
                assertEquals(0x3E7C0000, Float.floatToRawIntBits(q.state().absmax().blockAbsmax(b)));
            }
            MemorySegment out = arena.allocate(128 * 4);
            q.dequantizeTo(out, DType.F32);
            double[] first8 = {-0.24609375, -0.09718672931194305, 0.03960391506552696, 0.17791515588760376,
                -0.17132869362831116, -0.022406844422221184, 0.1384565234184265, -0.24609375};
            for (int i = 0; i < 8; i++) {
                assertEquals((float) first8[i], out.getAtIndex(LittleEndian.F32, i), "element " + i);
            }
        }
    }

    @Test
    void specVectorTv2DoubleQuant() {
        float[] w = new float[8 * 64];
        for (int b = 0; b < 8; b++) {
            for (int j = 0; j < 64; j++) {
                w[b * 64 + j] = (float) (((j * 29) % 64 - 32) / 32.0 * (b + 1) / 64.0);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            Nf4Weight q = Nf4Weight.quantize("tv2", encode(w, DType.BF16, arena), DType.BF16, new long[] {8, 64}, 64, true, arena);
            Absmax.DoubleQuantized dq = (Absmax.DoubleQuantized) q.state().absmax();
            assertEquals(0x3D900000, Float.floatToRawIntBits(dq.offset()));
            assertEquals(0x3D600000, Float.floatToRawIntBits(dq.nestedAbsmax().getAtIndex(LittleEndian.F32, 0)));
            assertEquals("0014283cc2d6eaff", HexFormat.of().formatHex(dq.codes().toArray(LittleEndian.U8)));
            int[] absmaxBits = {0x3C832666, 0x3D009332, 0x3D3F9334, 0x3D7E9333, 0x3DA0B666, 0x3DC03666, 0x3DDFB667, 0x3E000000};
            for (int b = 0; b < 8; b++) {
                assertEquals(absmaxBits[b], Float.floatToRawIntBits(dq.blockAbsmax(b)), "block " + b);
                String row = HexFormat.of().formatHex(q.packed().asSlice(b * 32L, 8).toArray(LittleEndian.U8));
                assertEquals("06e4d2c1a18f6e4d", row, "row " + b);
            }
            MemorySegment out = arena.allocate(512 * 2);
            q.dequantizeTo(out, DType.BF16);
            int[] row7 = {0xBE00, 0xBC3A, 0x3DB9, 0xBD12};
            for (int j = 0; j < 4; j++) {
                assertEquals((short) row7[j], out.getAtIndex(LittleEndian.I16, 7 * 64 + j), "row 7 element " + j);
            }
        }
    }

    @Test
    void allZeroBlocksGiveCodeZeroAndNegativeZero() {
        float[] w = new float[64 + 64 + 33];
        w[70] = 0.5f; // block 1 has one non-zero; blocks 0 and 2 (partial, odd) are all zero
        try (Arena arena = Arena.ofConfined()) {
            Nf4Weight q = Nf4Weight.quantize("z", encode(w, DType.F32, arena), DType.F32, new long[] {w.length}, 64, false, arena);
            byte[] bytes = q.packed().toArray(LittleEndian.U8);
            for (int k = 0; k < 32; k++) {
                assertEquals(0, bytes[k], "byte " + k);
            }
            for (int k = 64; k < 80; k++) {
                assertEquals(0, bytes[k], "byte " + k);
            }
            assertEquals(0x07, bytes[80], "last element code 0, padding code 7");
            assertEquals(0.0f, q.state().absmax().blockAbsmax(0));
            MemorySegment out = arena.allocate(w.length * 4L);
            q.dequantizeTo(out, DType.F32);
            assertEquals(0x80000000, Float.floatToRawIntBits(out.getAtIndex(LittleEndian.F32, 0)), "-0.0");
            assertEquals(0x80000000, Float.floatToRawIntBits(out.getAtIndex(LittleEndian.F32, w.length - 1)), "-0.0");
            assertEquals(0.5f, out.getAtIndex(LittleEndian.F32, 70));
        }
    }

    @Test
    void nanElementGetsCodeZeroAndDoesNotSetAbsmax() {
        float[] w = new float[64];
        for (int i = 0; i < 64; i++) {
            w[i] = (i - 20) / 100.0f;
        }
        w[5] = Float.NaN;
        try (Arena arena = Arena.ofConfined()) {
            Nf4Weight q = Nf4Weight.quantize("nan", encode(w, DType.F32, arena), DType.F32, new long[] {64}, 64, false, arena);
            assertEquals(0.43f, q.state().absmax().blockAbsmax(0));
            assertEquals(0, codeAt(q.packed(), 5));
            Reference ref = reference(w, 64);
            for (int i = 0; i < 64; i++) {
                assertEquals(ref.codes[i], codeAt(q.packed(), i), "element " + i);
            }
        }
    }

    /**
     * Double quantization against a reference: offset = mean in double rounded once, centred
     * values, nested absmax, 8-bit codes equal to the nearest map value (either neighbour at a
     * kernel midpoint), and the restored absmax within the 8-bit bound.
     */
    @Test
    void doubleQuantizedAbsmaxMatchesReference() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] map = DynamicMap.table();
        double maxMapGap = 0;
        for (int c = 0; c < 255; c++) {
            maxMapGap = Math.max(maxMapGap, (double) map[c + 1] - map[c]);
        }
        for (int trial = 0; trial < 6; trial++) {
            int n = 64 * (1 + random.nextInt(1200)) - random.nextInt(63);
            float[] w = randomWeights(random, n, DType.BF16);
            String where = "seed " + seed + ", trial " + trial + ", n " + n;
            try (Arena arena = trial % 2 == 0 ? Arena.ofShared() : Arena.ofConfined()) {
                Nf4Weight q = Nf4Weight.quantize("dq", encode(w, DType.BF16, arena), DType.BF16, new long[] {n}, 64, true, arena);
                Reference ref = reference(w, 64);
                for (int i = 0; i < n; i++) {
                    assertEquals(ref.codes[i], codeAt(q.packed(), i), where + ": 4-bit codes use the unquantized absmax, element " + i);
                }
                Absmax.DoubleQuantized dq = (Absmax.DoubleQuantized) q.state().absmax();
                int blocks = ref.absmax.length;
                double sum = 0;
                for (float a : ref.absmax) {
                    sum += a;
                }
                float offset = (float) (sum / blocks);
                assertEquals(offset, dq.offset(), where);
                for (int c = 0; c * 256 < blocks; c++) {
                    float[] centred = new float[Math.min(256, blocks - c * 256)];
                    double max = 0;
                    for (int j = 0; j < centred.length; j++) {
                        centred[j] = (float) ((double) ref.absmax[c * 256 + j] - offset);
                        max = Math.max(max, Math.abs(centred[j]));
                    }
                    float nested = dq.nestedAbsmax().getAtIndex(LittleEndian.F32, c);
                    assertEquals((float) max, nested, where + ", nested block " + c);
                    float inv = (float) (1.0 / max);
                    for (int j = 0; j < centred.length; j++) {
                        int block = c * 256 + j;
                        float x = (float) ((double) centred[j] * inv);
                        int code = Byte.toUnsignedInt(dq.codes().get(LittleEndian.U8, block));
                        double distance = Math.abs((double) x - map[code]);
                        for (int other = 0; other < 256; other++) {
                            double d = Math.abs((double) x - map[other]);
                            boolean kernelMidpoint = Math.abs(other - code) == 1
                                    && x == (map[Math.min(other, code)] + map[Math.max(other, code)]) * 0.5f;
                            assertTrue(distance < d || other == code || (distance == d || kernelMidpoint) && Math.abs(other - code) == 1,
                                    where + ", block " + block + ": code " + code + " but " + other + " is nearer to " + x);
                        }
                        // |restored - absmax| <= nested * gap/2 (choice of code) + nested * 2^-23 (x's roundings)
                        // + rounding of the product, the sum and the centring (3 ulps of 2*absmax at most).
                        double bound = nested * (maxMapGap / 2 + Math.pow(2, -23)) + 3 * Math.ulp(2 * Math.max(ref.absmax[block], offset));
                        assertTrue(Math.abs((double) dq.blockAbsmax(block) - ref.absmax[block]) <= bound,
                                where + ", block " + block + ": restored " + dq.blockAbsmax(block) + " vs " + ref.absmax[block]);
                    }
                }
            }
        }
    }

    @Test
    void blocksizeOutsideTheAllowedSetIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(256 * 4);
            for (int bs : new int[] {0, 16, 48, 100, 8192}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Nf4Weight.quantize("model.layers.3.mlp.up_proj", w, DType.F32, new long[] {16, 16}, bs, false, arena));
                assertTrue(e.getMessage().contains("blocksize " + bs) && e.getMessage().contains("model.layers.3.mlp.up_proj"),
                        e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Nf4Weight.quantize("x.weight", w, DType.F32, new long[] {16, 17}, 64, false, arena));
            assertTrue(e.getMessage().contains("x.weight"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Nf4Weight.quantize("y.weight", w, DType.I32, new long[] {16, 16}, 64, false, arena));
            assertTrue(e.getMessage().contains("y.weight") && e.getMessage().contains("I32"), e.getMessage());
        }
    }

    @Test
    void byteCounts() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(4096L * 2 * 2);
            Nf4Weight q = Nf4Weight.quantize("w", w, DType.BF16, new long[] {2, 4096}, 64, true, arena);
            assertEquals(4096, q.packedBytes());
            assertEquals(8192 * 2, q.bf16Bytes());
            assertEquals(4096 + 128 + 4 + 256 * 4 + 16 * 4, q.quantizedBytes());
        }
    }
}

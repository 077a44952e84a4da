package org.jtune.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Double quantization of NF4 absmax (spec §3): subtract the mean, then 8-bit blockwise quantization
 * with the dynamic map over blocks of 256.
 */
final class AbsmaxQuantizer {
    private AbsmaxQuantizer() {}

    /** The nested blocksize bitsandbytes hard-codes. */
    static final int NESTED_BLOCKSIZE = 256;

    /** Quantizes absmax (F32 [blocks]) into segments allocated in arena. */
    static Absmax.DoubleQuantized quantize(MemorySegment absmax, long blocks, Arena arena) {
        float offset = mean(absmax, blocks);
        long nestedBlocks = Absmax.DoubleQuantized.nestedBlocks(blocks, NESTED_BLOCKSIZE);
        MemorySegment codes = arena.allocate(blocks);
        MemorySegment nestedAbsmax = arena.allocate(nestedBlocks * Float.BYTES, Float.BYTES);
        float[] map = DynamicMap.table();
        Chunks.parallel(nestedBlocks, 64, (from, to) -> {
            float[] centered = new float[NESTED_BLOCKSIZE];
            for (long c = from; c < to; c++) {
                long start = c * NESTED_BLOCKSIZE;
                int length = (int) Math.min(NESTED_BLOCKSIZE, blocks - start);
                float max = 0.0f;
                for (int j = 0; j < length; j++) {
                    centered[j] = absmax.getAtIndex(LittleEndian.F32, start + j) - offset;
                    float a = Math.abs(centered[j]);
                    if (a > max) { // skips NaN, as CUDA's fmaxf
                        max = a;
                    }
                }
                nestedAbsmax.setAtIndex(LittleEndian.F32, c, max);
                float inv = 1.0f / max;
                for (int j = 0; j < length; j++) {
                    codes.set(LittleEndian.U8, start + j, (byte) DynamicMap.quantize(centered[j] * inv, map));
                }
            }
        }, absmax, codes, nestedAbsmax);
        return new Absmax.DoubleQuantized(codes, blocks, nestedAbsmax, NESTED_BLOCKSIZE, map, offset);
    }

    /**
     * The mean rounded to float32. The GPU sums in float32 in an order Java cannot reproduce; the
     * double sum is nearly exact, so the result is the correctly rounded mean in all but rare cases.
     */
    private static float mean(MemorySegment absmax, long blocks) {
        double sum = 0;
        for (long i = 0; i < blocks; i++) {
            sum += absmax.getAtIndex(LittleEndian.F32, i);
        }
        return (float) (sum / blocks);
    }
}

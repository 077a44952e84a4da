package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;

/**
 * Blockwise NF4 quantization exactly as bitsandbytes' CUDA kernel (spec §2): per block the absmax,
 * its float reciprocal, one multiply per weight, the NF4 code, two codes per byte (first element in
 * the high nibble).
 */
final class Nf4Quantizer {
    private Nf4Quantizer() {}

    /**
     * Quantizes n weights of dtype F32, BF16 or F16 from src into packed ((n+1)/2 bytes) and absmax
     * (ceil(n/blocksize) floats). Blocks are processed in parallel.
     */
    static void quantize(MemorySegment src, DType dtype, long n, int blocksize,
                         MemorySegment packed, MemorySegment absmax) {
        long blocks = Math.ceilDiv(n, blocksize);
        Chunks.parallel(blocks, Chunks.blocksPerChunk(blocksize), (from, to) -> {
            float[] block = new float[blocksize];
            for (long b = from; b < to; b++) {
                long start = b * blocksize;
                int length = (int) Math.min(blocksize, n - start);
                WeightReader.read(src, dtype, start, length, block);
                float max = absmax(block, length);
                absmax.setAtIndex(LittleEndian.F32, b, max);
                pack(block, length, 1.0f / max, packed, start / 2);
            }
        }, src, packed, absmax);
    }

    /**
     * Largest |w| of the block. NaN elements are skipped, as CUDA's fmaxf does; an all-zero block
     * gives 0.
     */
    private static float absmax(float[] block, int length) {
        float max = 0.0f;
        for (int i = 0; i < length; i++) {
            float a = Math.abs(block[i]);
            if (a > max) {
                max = a;
            }
        }
        return max;
    }

    /**
     * Writes the codes of one block from byte firstByte on. The multiply by the reciprocal (not a
     * division) is what the kernel does; for an all-zero block inv is +inf and 0*inf is NaN, which
     * gives code 0, again as on the GPU.
     */
    private static void pack(float[] block, int length, float inv, MemorySegment packed, long firstByte) {
        int pairs = length / 2;
        for (int k = 0; k < pairs; k++) {
            int high = Nf4.code(block[2 * k] * inv);
            int low = Nf4.code(block[2 * k + 1] * inv);
            packed.set(LittleEndian.U8, firstByte + k, (byte) (high << 4 | low));
        }
        if (length % 2 == 1) {
            // The kernel pads the input with 0.0, whose code is 7.
            int high = Nf4.code(block[length - 1] * inv);
            packed.set(LittleEndian.U8, firstByte + pairs, (byte) (high << 4 | Nf4.ZERO_CODE));
        }
    }
}

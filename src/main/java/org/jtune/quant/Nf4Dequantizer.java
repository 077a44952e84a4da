package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;

/**
 * NF4 dequantization (spec §4): w[j] = fl32(map[nibble j] * absmax[j / blocksize]), then rounded to
 * the output dtype. Blocks are processed in parallel.
 */
final class Nf4Dequantizer {
    private Nf4Dequantizer() {}

    /** Writes n values of dtype outType (F32, BF16 or F16) to out. */
    static void dequantize(MemorySegment packed, long n, int blocksize, Absmax absmax, float[] quantMap,
                           MemorySegment out, DType outType) {
        long blocks = Math.ceilDiv(n, blocksize);
        Chunks.parallel(blocks, Chunks.blocksPerChunk(blocksize), (from, to) -> {
            float[] values = new float[blocksize];
            for (long b = from; b < to; b++) {
                long start = b * blocksize;
                int length = (int) Math.min(blocksize, n - start);
                float scale = absmax.blockAbsmax(b);
                for (int i = 0; i < length; i += 2) {
                    int pair = Byte.toUnsignedInt(packed.get(LittleEndian.U8, (start + i) / 2));
                    values[i] = quantMap[pair >>> 4] * scale;
                    if (i + 1 < length) {
                        values[i + 1] = quantMap[pair & 0x0F] * scale;
                    }
                }
                write(values, length, out, outType, start);
            }
        }, segmentsOf(packed, absmax, out));
    }

    private static MemorySegment[] segmentsOf(MemorySegment packed, Absmax absmax, MemorySegment out) {
        return switch (absmax) {
            case Absmax.Plain plain -> new MemorySegment[] {packed, out, plain.values()};
            case Absmax.DoubleQuantized dq -> new MemorySegment[] {packed, out, dq.codes(), dq.nestedAbsmax()};
        };
    }

    private static void write(float[] values, int length, MemorySegment out, DType outType, long start) {
        switch (outType) {
            case F32 -> {
                for (int i = 0; i < length; i++) {
                    out.setAtIndex(LittleEndian.F32, start + i, values[i]);
                }
            }
            case BF16 -> {
                for (int i = 0; i < length; i++) {
                    out.setAtIndex(LittleEndian.I16, start + i, HalfFloats.floatToBf16(values[i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < length; i++) {
                    out.setAtIndex(LittleEndian.I16, start + i, HalfFloats.floatToF16(values[i]));
                }
            }
            default -> throw new IllegalArgumentException("cannot dequantize to " + outType
                    + " (expected F32, BF16 or F16)");
        }
    }
}

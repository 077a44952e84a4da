package org.jtune.quant;

import java.lang.foreign.MemorySegment;

/**
 * The per-block scales of an NF4 weight: either plain float32 values or, with double quantization,
 * 8-bit codes into a dynamic map rescaled per 256-block plus a common offset (spec §3, §4).
 */
public sealed interface Absmax permits Absmax.Plain, Absmax.DoubleQuantized {

    /** Number of NF4 blocks described. */
    long blocks();

    /** The scale of one block as dequantization uses it. */
    float blockAbsmax(long block);

    /** Bytes held by the tensors of this state (for memory reports). */
    long byteSize();

    /** Float32 absmax per block: {@code values} is F32 [blocks]. */
    record Plain(MemorySegment values, long blocks) implements Absmax {
        public Plain {
            requireBytes(values, blocks * Float.BYTES, "absmax");
        }

        @Override
        public float blockAbsmax(long block) {
            return values.getAtIndex(LittleEndian.F32, block);
        }

        @Override
        public long byteSize() {
            return blocks * Float.BYTES;
        }
    }

    /**
     * Double-quantized absmax: {@code codes} U8 [blocks] index {@code nestedMap} (256 values);
     * {@code nestedAbsmax} F32 [ceil(blocks/nestedBlocksize)] scales them; {@code offset} is added.
     */
    record DoubleQuantized(MemorySegment codes, long blocks, MemorySegment nestedAbsmax, int nestedBlocksize,
                           float[] nestedMap, float offset) implements Absmax {
        public DoubleQuantized {
            requireBytes(codes, blocks, "absmax codes");
            requireBytes(nestedAbsmax, nestedBlocks(blocks, nestedBlocksize) * Float.BYTES, "nested_absmax");
            if (nestedMap.length != DynamicMap.SIZE) {
                throw new IllegalArgumentException("nested_quant_map has " + nestedMap.length
                        + " values, expected " + DynamicMap.SIZE);
            }
            nestedMap = nestedMap.clone();
        }

        /** Number of nested (256-) blocks for the given NF4 block count. */
        public static long nestedBlocks(long blocks, int nestedBlocksize) {
            return Math.ceilDiv(blocks, nestedBlocksize);
        }

        /** A copy of the 256-entry map. */
        @Override
        public float[] nestedMap() {
            return nestedMap.clone();
        }

        /** fl32(fl32(map[code] * nested_absmax) + offset): two roundings, as the two torch ops. */
        @Override
        public float blockAbsmax(long block) {
            int code = Byte.toUnsignedInt(codes.get(LittleEndian.U8, block));
            float scale = nestedAbsmax.getAtIndex(LittleEndian.F32, block / nestedBlocksize);
            float scaled = nestedMap[code] * scale;
            return scaled + offset;
        }

        @Override
        public long byteSize() {
            return blocks + nestedAbsmax.byteSize() + (long) DynamicMap.SIZE * Float.BYTES;
        }
    }

    private static void requireBytes(MemorySegment segment, long bytes, String what) {
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException(what + " holds " + segment.byteSize() + " bytes, expected " + bytes);
        }
    }
}

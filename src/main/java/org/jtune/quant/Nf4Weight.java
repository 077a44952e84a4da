package org.jtune.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;

/**
 * An NF4-quantized weight held off-heap: packed 4-bit codes plus the quant state to undo them.
 * Quantization and dequantization use all cores when the segments are shared (global, auto or
 * shared arenas); segments confined to one thread are processed on that thread.
 */
public final class Nf4Weight {
    private final MemorySegment packed;
    private final QuantState state;

    /** Wraps packed codes (U8, (n+1)/2 bytes) and their state. */
    public Nf4Weight(MemorySegment packed, QuantState state) {
        long expected = packedBytes(state.elementCount());
        if (packed.byteSize() != expected) {
            throw new IllegalArgumentException("packed weight holds " + packed.byteSize() + " bytes, expected "
                    + expected + " for " + state.elementCount() + " elements");
        }
        this.packed = packed;
        this.state = state;
    }

    /**
     * Quantizes a row-major weight of the given dtype (F32, BF16, F16) and shape to NF4 as
     * bitsandbytes does, allocating the results in arena. name is used in error messages.
     */
    public static Nf4Weight quantize(String name, MemorySegment weights, DType dtype, long[] shape,
                                     int blocksize, boolean doubleQuant, Arena arena) {
        WeightReader.requireSupported(dtype, name);
        Blocksizes.require(blocksize, name);
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException(name + ": shape has a non-positive dimension " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        if (weights.byteSize() != n * dtype.byteSize()) {
            throw new IllegalArgumentException(name + ": " + weights.byteSize() + " bytes of data, expected "
                    + n * dtype.byteSize() + " for " + n + " elements of " + dtype);
        }
        long blocks = Math.ceilDiv(n, blocksize);
        MemorySegment packed = arena.allocate(packedBytes(n));
        MemorySegment absmax = arena.allocate(blocks * Float.BYTES, Float.BYTES);
        Nf4Quantizer.quantize(weights, dtype, n, blocksize, packed, absmax);
        Absmax scales = doubleQuant
                ? AbsmaxQuantizer.quantize(absmax, blocks, arena)
                : new Absmax.Plain(absmax, blocks);
        return new Nf4Weight(packed, new QuantState(shape, dtype, blocksize, Nf4.table(), scales));
    }

    /** The packed codes, U8 [(n+1)/2]: element 2k in the high nibble of byte k. */
    public MemorySegment packed() {
        return packed;
    }

    /** The quant state. */
    public QuantState state() {
        return state;
    }

    /** Writes the dequantized weight, row-major, as F32, BF16 or F16 into out. */
    public void dequantizeTo(MemorySegment out, DType outType) {
        long n = state.elementCount();
        if (!outType.isComputeFloat()) {
            throw new IllegalArgumentException("cannot dequantize to " + outType + " (expected F32, BF16 or F16)");
        }
        if (out.byteSize() < n * outType.byteSize()) {
            throw new IllegalArgumentException("output holds " + out.byteSize() + " bytes, " + n + " "
                    + outType + " values need " + n * outType.byteSize());
        }
        Nf4Dequantizer.dequantize(packed, n, state.blocksize(), state.absmax(), state.quantMap(), out, outType);
    }

    /** Bytes of the packed codes. */
    public long packedBytes() {
        return packed.byteSize();
    }

    /** Bytes of everything: packed codes, absmax state and the 16-entry map. */
    public long quantizedBytes() {
        return packed.byteSize() + state.absmax().byteSize() + 16L * Float.BYTES;
    }

    /** Bytes the same weight takes in bf16, for comparison. */
    public long bf16Bytes() {
        return state.elementCount() * 2;
    }

    private static long packedBytes(long n) {
        return (n + 1) / 2;
    }
}

package org.jtune.quant;

import java.util.Arrays;
import org.jtune.tensor.DType;

/**
 * What bitsandbytes' QuantState records about one NF4 weight besides the packed bytes: original
 * shape and dtype, blocksize, the 4-bit map and the (possibly double-quantized) absmax (spec §5).
 */
public record QuantState(long[] shape, DType dtype, int blocksize, float[] quantMap, Absmax absmax) {

    /** The only quant type supported. */
    public static final String QUANT_TYPE = "nf4";

    /** Checks that the parts agree with each other. */
    public QuantState {
        shape = shape.clone();
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a non-positive dimension");
            }
        }
        if (!dtype.isComputeFloat()) {
            throw new IllegalArgumentException("original dtype " + dtype + " is not F32, BF16 or F16");
        }
        Blocksizes.require(blocksize, "quant state");
        if (quantMap.length != 16) {
            throw new IllegalArgumentException("quant_map has " + quantMap.length + " values, expected 16");
        }
        quantMap = quantMap.clone();
        long blocks = Math.ceilDiv(elementCount(shape), blocksize);
        if (absmax.blocks() != blocks) {
            throw new IllegalArgumentException("absmax has " + absmax.blocks() + " blocks, expected " + blocks
                    + " for shape " + Arrays.toString(shape) + " and blocksize " + blocksize);
        }
    }

    /** A copy of the shape [out, in]. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** A copy of the 16-entry map. */
    @Override
    public float[] quantMap() {
        return quantMap.clone();
    }

    /** Number of weights. */
    public long elementCount() {
        return elementCount(shape);
    }

    /** Number of NF4 blocks. */
    public long blocks() {
        return absmax.blocks();
    }

    /** True when absmax is double-quantized. */
    public boolean doubleQuantized() {
        return absmax instanceof Absmax.DoubleQuantized;
    }

    private static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}

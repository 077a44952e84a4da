package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;

/** One tensor to write to a checkpoint: name, element type, shape and little-endian bytes. */
public record NamedTensor(String name, DType dtype, long[] shape, MemorySegment data) {
    /** Copies the shape. */
    public NamedTensor {
        shape = shape.clone();
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }
}

package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;

/** Named tensors to read a quantized checkpoint from, such as an open safetensors file. */
public interface TensorSource {
    /** True if a tensor of this name exists. */
    boolean has(String name);

    /** The element type of an existing tensor. */
    DType dtype(String name);

    /** The shape of an existing tensor. */
    long[] shape(String name);

    /** The little-endian row-major bytes of an existing tensor. */
    MemorySegment data(String name);
}

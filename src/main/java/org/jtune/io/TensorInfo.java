package org.jtune.io;

import java.util.Arrays;
import org.jtune.tensor.DType;

/**
 * Where one tensor of a safetensors file lies: its dtype, shape (row-major) and byte range.
 * {@code byteOffset} counts from the start of the file's data buffer, as the header's {@code data_offsets} do.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long byteOffset, long byteSize) {

    public TensorInfo {
        shape = shape.clone();
    }

    /** A copy of the shape; {@code []} is a scalar. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long elementCount() {
        long count = 1;
        for (long dim : shape) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorInfo that
                && name.equals(that.name) && dtype == that.dtype && Arrays.equals(shape, that.shape)
                && byteOffset == that.byteOffset && byteSize == that.byteSize;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " at [" + byteOffset + ", "
                + (byteOffset + byteSize) + ")";
    }
}

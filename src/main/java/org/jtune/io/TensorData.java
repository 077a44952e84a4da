package org.jtune.io;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.jtune.tensor.DType;

/**
 * A named tensor to write: dtype, row-major shape and its little-endian bytes, which may live off-heap
 * (e.g. a slice of a mapped file) and may be larger than 2 GiB.
 */
public record TensorData(String name, DType dtype, long[] shape, MemorySegment data) {

    /** Checks that {@code data} holds exactly {@code prod(shape) * bits / 8} bytes. */
    public TensorData {
        if (name == null || name.isEmpty() || name.equals(SafetensorsHeaderParser.METADATA_KEY)) {
            throw new IllegalArgumentException("invalid tensor name \"" + name + "\"");
        }
        shape = shape.clone();
        long expected = byteSize(name, dtype, shape);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor \"" + name + "\": " + dtype + " " + Arrays.toString(shape)
                    + " needs " + expected + " bytes but the data has " + data.byteSize());
        }
    }

    /** A tensor whose bytes are in a heap array. */
    public static TensorData of(String name, DType dtype, long[] shape, byte[] bytes) {
        return new TensorData(name, dtype, shape, MemorySegment.ofArray(bytes));
    }

    /** A float tensor stored as {@code dtype} (F32, BF16 or F16; 16-bit types round to nearest even). */
    public static TensorData ofFloats(String name, DType dtype, long[] shape, float[] values) {
        if (!FloatCodec.canEncode(dtype)) {
            throw new IllegalArgumentException("tensor \"" + name + "\": cannot store floats as " + dtype);
        }
        return of(name, dtype, shape, FloatCodec.encode(values, dtype));
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of data bytes. */
    public long byteSize() {
        return data.byteSize();
    }

    private static long byteSize(String name, DType dtype, long[] shape) {
        long bits = dtype.bits();
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor \"" + name + "\": negative dimension in "
                        + Arrays.toString(shape));
            }
            bits = Math.multiplyExact(bits, dim);
        }
        if (bits % 8 != 0) {
            throw new IllegalArgumentException("tensor \"" + name + "\": " + dtype + " " + Arrays.toString(shape)
                    + " is not a whole number of bytes");
        }
        return bits / 8;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}

package org.jtune.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A row-major block of elements of one {@link DType} in a {@link MemorySegment}, with a shape.
 * Storage is owned by whoever owns the segment (normally an {@link Arena}); a tensor never frees it.
 * Element accessors convert BF16/F16 to float on read, so math code works in float32 whatever the storage.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long size;

    private Tensor(MemorySegment segment, DType dtype, long[] shape) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.I32) {
            throw new IllegalArgumentException("tensors of " + dtype + " are not supported (F32, BF16, F16, I32 are)");
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.size = elementCount(shape);
        long bytes = size * dtype.byteSize();
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for "
                    + dtype + Arrays.toString(shape) + " (" + bytes + " bytes)");
        }
        this.segment = segment.asSlice(0, bytes);
    }

    /** Allocates a zero-filled tensor in {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        long bytes = elementCount(shape) * dtype.byteSize();
        return new Tensor(arena.allocate(Math.max(bytes, 1), 8), dtype, shape);
    }

    /** Allocates a zero-filled float32 tensor in {@code arena}. */
    public static Tensor f32(Arena arena, long... shape) {
        return allocate(arena, DType.F32, shape);
    }

    /** Wraps existing memory (for example a mapped safetensors tensor) without copying. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        return new Tensor(segment, dtype, shape);
    }

    /** A float32 tensor holding a copy of {@code values}, shaped {@code shape}. */
    public static Tensor of(Arena arena, float[] values, long... shape) {
        Tensor t = f32(arena, shape);
        t.copyFrom(values);
        return t;
    }

    /** An int32 tensor holding a copy of {@code values}, one-dimensional. */
    public static Tensor ofInts(Arena arena, int[] values) {
        Tensor t = allocate(arena, DType.I32, values.length);
        MemorySegment.copy(values, 0, t.segment, I32, 0, values.length);
        return t;
    }

    private static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    /** Number of elements. */
    public long size() {
        return size;
    }

    /** Rows = the first dimension (1 for a scalar). */
    public long rows() {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** Elements per row: the product of all dimensions but the first. */
    public long rowLength() {
        return shape.length == 0 ? 1 : (shape[0] == 0 ? 0 : size / shape[0]);
    }

    /** The same memory seen with another shape of the same element count. */
    public Tensor reshape(long... newShape) {
        if (elementCount(newShape) != size) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape));
        }
        return new Tensor(segment, dtype, newShape);
    }

    /** Rows {@code [from, from+count)} of this tensor, sharing memory. */
    public Tensor rows(long from, long count) {
        if (shape.length == 0 || from < 0 || count < 0 || from + count > shape[0]) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + (from + count) + ") of " + this);
        }
        long[] s = shape.clone();
        s[0] = count;
        long rowBytes = rowLength() * dtype.byteSize();
        return new Tensor(segment.asSlice(from * rowBytes, count * rowBytes), dtype, s);
    }

    /** Element {@code i} (flat, row-major) as float; BF16/F16 converted exactly. */
    public float get(long i) {
        return switch (dtype) {
            case F32 -> segment.getAtIndex(F32, i);
            case BF16 -> HalfFloats.bf16ToFloat(segment.getAtIndex(I16, i));
            case F16 -> HalfFloats.f16ToFloat(segment.getAtIndex(I16, i));
            case I32 -> segment.getAtIndex(I32, i);
            default -> throw new IllegalStateException(dtype.toString());
        };
    }

    /** Sets element {@code i}, rounding to the storage type (nearest even). */
    public void set(long i, float value) {
        switch (dtype) {
            case F32 -> segment.setAtIndex(F32, i, value);
            case BF16 -> segment.setAtIndex(I16, i, HalfFloats.floatToBf16(value));
            case F16 -> segment.setAtIndex(I16, i, HalfFloats.floatToF16(value));
            default -> throw new IllegalStateException("set(float) on a " + dtype + " tensor");
        }
    }

    /** Element {@code i} of an I32 tensor. */
    public int getInt(long i) {
        requireType(DType.I32);
        return segment.getAtIndex(I32, i);
    }

    /** Sets element {@code i} of an I32 tensor. */
    public void setInt(long i, int value) {
        requireType(DType.I32);
        segment.setAtIndex(I32, i, value);
    }

    /** Reads row {@code row} into {@code dst[0..rowLength)}, converted to float. */
    public void readRow(long row, float[] dst) {
        int n = Math.toIntExact(rowLength());
        long base = row * n;
        switch (dtype) {
            case F32 -> MemorySegment.copy(segment, F32, base * 4, dst, 0, n);
            case BF16 -> {
                for (int j = 0; j < n; j++) {
                    dst[j] = HalfFloats.bf16ToFloat(segment.getAtIndex(I16, base + j));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    dst[j] = HalfFloats.f16ToFloat(segment.getAtIndex(I16, base + j));
                }
            }
            default -> throw new IllegalStateException("readRow on a " + dtype + " tensor");
        }
    }

    /** Writes {@code src[0..rowLength)} into row {@code row} of an F32 tensor. */
    public void writeRow(long row, float[] src) {
        requireType(DType.F32);
        int n = Math.toIntExact(rowLength());
        MemorySegment.copy(src, 0, segment, F32, row * n * 4, n);
    }

    /** Copies {@code values} (exactly {@link #size()} of them) into this tensor, rounding to its type. */
    public void copyFrom(float[] values) {
        if (values.length != size) {
            throw new IllegalArgumentException(values.length + " values for " + this);
        }
        if (dtype == DType.F32) {
            MemorySegment.copy(values, 0, segment, F32, 0, values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                set(i, values[i]);
            }
        }
    }

    /** Copies all elements of {@code src} (same element count, any float type) into this tensor. */
    public void copyFrom(Tensor src) {
        if (src.size != size) {
            throw new IllegalArgumentException("cannot copy " + src + " into " + this);
        }
        if (src.dtype == dtype) {
            MemorySegment.copy(src.segment, 0, segment, 0, segment.byteSize());
        } else {
            for (long i = 0; i < size; i++) {
                set(i, src.get(i));
            }
        }
    }

    /** All elements as float32 values. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(size)];
        if (dtype == DType.F32) {
            MemorySegment.copy(segment, F32, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = get(i);
            }
        }
        return out;
    }

    /** All elements of an I32 tensor. */
    public int[] toIntArray() {
        requireType(DType.I32);
        int[] out = new int[Math.toIntExact(size)];
        MemorySegment.copy(segment, I32, 0, out, 0, out.length);
        return out;
    }

    /** Sets every byte to zero (0.0 for float types). */
    public void zero() {
        segment.fill((byte) 0);
    }

    /** Sets every element of a float tensor to {@code value}. */
    public void fill(float value) {
        for (long i = 0; i < size; i++) {
            set(i, value);
        }
    }

    /** Throws unless this tensor has exactly {@code expected} as its shape; {@code what} names it in the message. */
    public Tensor requireShape(String what, long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException(what + ": expected shape " + Arrays.toString(expected)
                    + " but got " + Arrays.toString(shape));
        }
        return this;
    }

    private void requireType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("expected a " + expected + " tensor, got " + this);
        }
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}

package org.jtune.model.cpu;

import org.jtune.model.FrozenLinearWeight;
import org.jtune.quant.Absmax;
import org.jtune.quant.Nf4Weight;
import org.jtune.quant.QuantState;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A weight matrix [rows, cols] read one row at a time as float32, where it is stored: matrix-vector products
 * stream each row once from memory into a small buffer, so a 16-bit or 4-bit weight is never widened as a whole.
 */
sealed interface WeightRows {
    ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    int rows();

    int cols();

    /** Writes row {@code row} to {@code dst[dstOff .. dstOff + cols())}. */
    void read(int row, float[] dst, int dstOff);

    /** Bytes of memory one pass over every row reads. */
    long bytes();

    static WeightRows of(FrozenLinearWeight weight, RowMath math) {
        return switch (weight) {
            case FrozenLinearWeight.Dense dense -> of(dense.tensor(), math);
            case FrozenLinearWeight.Nf4 nf4 -> new Nf4Rows(nf4.weight());
        };
    }

    /** A dense F32, BF16 or F16 matrix. */
    static WeightRows of(Tensor matrix, RowMath math) {
        if (matrix.rank() != 2) {
            throw new IllegalArgumentException("expected a matrix, got " + matrix);
        }
        int rows = Math.toIntExact(matrix.dim(0)), cols = Math.toIntExact(matrix.dim(1));
        return switch (matrix.dtype()) {
            case F32, BF16, F16 -> new DenseRows(matrix.segment(), matrix.dtype(), rows, cols, math);
            default -> throw new IllegalArgumentException("cannot multiply by a " + matrix.dtype() + " matrix");
        };
    }

    record DenseRows(MemorySegment data, DType dtype, int rows, int cols, RowMath math) implements WeightRows {
        @Override
        public void read(int row, float[] dst, int dstOff) {
            long first = (long) row * cols;
            switch (dtype) {
                case F32 -> MemorySegment.copy(data, F32, first * 4, dst, dstOff, cols);
                case BF16 -> math.widenBf16(data, first * 2, dst, dstOff, cols);
                case F16 -> {
                    for (int j = 0; j < cols; j++) {
                        dst[dstOff + j] = HalfFloats.f16ToFloat(data.getAtIndex(I16, first + j));
                    }
                }
                default -> throw new IllegalStateException(dtype.toString());
            }
        }

        @Override
        public long bytes() {
            return data.byteSize();
        }
    }

    /**
     * An NF4 weight dequantized block by block as its rows are read, to its original dtype as bitsandbytes (and
     * the training engine) does: the 16 possible values of a block are computed once, then each code is a lookup.
     * Dequantizing the whole weight once would hold it at 16 bits and give up what 4-bit loading saves.
     */
    record Nf4Rows(MemorySegment packed, QuantState state, float[] map, int rows, int cols) implements WeightRows {
        Nf4Rows(Nf4Weight weight) {
            this(weight.packed(), weight.state(), weight.state().quantMap(),
                    Math.toIntExact(weight.state().shape()[0]), Math.toIntExact(weight.state().shape()[1]));
        }

        /** The packed bytes of one row, copied in bulk: reading a shared segment byte by byte costs more. */
        private static final ThreadLocal<byte[]> BYTES = ThreadLocal.withInitial(() -> new byte[0]);

        @Override
        public void read(int row, float[] dst, int dstOff) {
            int blocksize = state.blocksize();
            long first = (long) row * cols;
            long firstByte = first >>> 1;
            int byteCount = (int) (((first + cols + 1) >>> 1) - firstByte);
            byte[] bytes = BYTES.get();
            if (bytes.length < byteCount) {
                bytes = new byte[byteCount];
                BYTES.set(bytes);
            }
            MemorySegment.copy(packed, ValueLayout.JAVA_BYTE, firstByte, bytes, 0, byteCount);
            DType dtype = state.dtype();
            Absmax absmax = state.absmax();
            float[] values = new float[16];
            // Element i of the row is nibble (odd + i) of the copied bytes: the high nibble of byte (odd + i) / 2
            // when (odd + i) is even. Block by block: the 16 values its codes stand for, then a lookup per code.
            int odd = (int) (first & 1);
            long block = first / blocksize;
            for (int i = 0; i < cols; block++) {
                float scale = absmax.blockAbsmax(block);
                for (int c = 0; c < 16; c++) {
                    values[c] = roundTo(dtype, map[c] * scale);
                }
                int blockEnd = (int) Math.min(cols, (block + 1) * blocksize - first);
                for (; i < blockEnd; i++) {
                    int nibble = odd + i;
                    int pair = bytes[nibble >>> 1];
                    dst[dstOff + i] = values[(nibble & 1) == 0 ? (pair >>> 4) & 0x0F : pair & 0x0F];
                }
            }
        }

        private static float roundTo(DType dtype, float v) {
            return switch (dtype) {
                case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v));
                case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(v));
                default -> v;
            };
        }

        @Override
        public long bytes() {
            return packed.byteSize() + state.absmax().byteSize();
        }
    }
}

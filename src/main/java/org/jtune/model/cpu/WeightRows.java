package org.jtune.model.cpu;

import org.jtune.model.FrozenLinearWeight;
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

        @Override
        public void read(int row, float[] dst, int dstOff) {
            int blocksize = state.blocksize();
            long first = (long) row * cols, end = first + cols;
            float[] values = new float[16];
            // block by block: the 16 values a block's codes stand for, then one lookup per code
            for (long block = first / blocksize; block * blocksize < end; block++) {
                float scale = state.absmax().blockAbsmax(block);
                for (int c = 0; c < 16; c++) {
                    values[c] = roundTo(state.dtype(), map[c] * scale);
                }
                long from = Math.max(first, block * blocksize), to = Math.min(end, (block + 1) * blocksize);
                int at = dstOff + (int) (from - first);
                long e = from;
                if ((e & 1) == 1) { // a block may start on the low nibble of a byte
                    dst[at++] = values[Byte.toUnsignedInt(packed.get(ValueLayout.JAVA_BYTE, e >>> 1)) & 0x0F];
                    e++;
                }
                for (; e + 1 < to; e += 2) {
                    int pair = Byte.toUnsignedInt(packed.get(ValueLayout.JAVA_BYTE, e >>> 1));
                    dst[at++] = values[pair >>> 4];
                    dst[at++] = values[pair & 0x0F];
                }
                if (e < to) {
                    dst[at] = values[Byte.toUnsignedInt(packed.get(ValueLayout.JAVA_BYTE, e >>> 1)) >>> 4];
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

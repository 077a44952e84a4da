package org.jtune.model;

import org.jtune.quant.Nf4Weight;
import org.jtune.quant.QuantState;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * A frozen projection weight [out, in] as the model holds it: dense, or NF4 that is dequantized for each use into
 * a scratch buffer the caller owns, so that the ops only ever see a dense tensor.
 */
public sealed interface FrozenLinearWeight permits FrozenLinearWeight.Dense, FrozenLinearWeight.Nf4 {

    /** [out, in]. */
    long[] shape();

    /** Bytes of the buffers this weight holds (packed codes and quant state for NF4). */
    long heldBytes();

    /** Scratch bytes {@link #forUse} needs: 0 for a dense weight. */
    long scratchBytes();

    /**
     * The weight as a dense tensor for one use. A dense weight returns itself; an NF4 weight is dequantized into
     * {@code scratch} (at least {@link #scratchBytes()} bytes) and the returned view is valid until the scratch
     * is written again.
     */
    Tensor forUse(MemorySegment scratch);

    /** A weight held as stored (F32, BF16 or F16). */
    record Dense(Tensor tensor) implements FrozenLinearWeight {
        @Override
        public long[] shape() {
            return tensor.shape();
        }

        @Override
        public long heldBytes() {
            return tensor.segment().byteSize();
        }

        @Override
        public long scratchBytes() {
            return 0;
        }

        @Override
        public Tensor forUse(MemorySegment scratch) {
            return tensor;
        }
    }

    /** A 4-bit weight, dequantized to its original dtype (as bitsandbytes does) on every use. */
    record Nf4(Nf4Weight weight) implements FrozenLinearWeight {
        @Override
        public long[] shape() {
            return weight.state().shape();
        }

        @Override
        public long heldBytes() {
            return weight.quantizedBytes();
        }

        @Override
        public long scratchBytes() {
            QuantState state = weight.state();
            return state.elementCount() * state.dtype().byteSize();
        }

        @Override
        public Tensor forUse(MemorySegment scratch) {
            DType dtype = weight.state().dtype();
            MemorySegment dense = scratch.asSlice(0, scratchBytes());
            weight.dequantizeTo(dense, dtype);
            return Tensor.wrap(dense, dtype, shape());
        }
    }
}

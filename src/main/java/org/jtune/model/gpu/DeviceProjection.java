package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;
import org.jtune.kernels.MatvecKernels;
import org.jtune.kernels.Nf4Kernels;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.quant.Absmax;
import org.jtune.quant.Nf4;
import org.jtune.quant.QuantState;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One frozen projection weight [out, in] in device memory: dense bf16, or NF4 that {@link #dense} dequantizes into
 * a shared bf16 scratch for each use (the GEMMs read bf16).
 */
final class DeviceProjection {
    /** The NF4 kernel works on groups of 32 codes. */
    private static final int NF4_GROUP = 32;

    private final String name;
    private final ProjectionFormat format;
    private final int out;
    private final long elements;
    private final DeviceBuffer weight;
    // NF4 only: codes, then absmax (float32 per block, or 8-bit codes with double quantization), nested state
    private final DeviceBuffer packed, absmax, nestedAbsmax, nestedMap;
    private float offset;

    DeviceProjection(MemoryCarver carver, String name, ProjectionFormat format, int out, int in) {
        this.name = name;
        this.format = format;
        this.out = out;
        this.elements = (long) out * in;
        switch (format) {
            case ProjectionFormat.Bf16 b -> {
                weight = carver.take(MemoryUse.WEIGHTS, name, 2 * elements);
                packed = absmax = nestedAbsmax = nestedMap = null;
            }
            case ProjectionFormat.Nf4 q -> {
                if (elements % NF4_GROUP != 0) {
                    throw new IllegalArgumentException(name + ": " + out + " x " + in + " = " + elements
                            + " weights; the GPU dequantizes NF4 in groups of " + NF4_GROUP);
                }
                long blocks = Math.ceilDiv(elements, q.blocksize());
                weight = null;
                packed = carver.take(MemoryUse.WEIGHTS, name + " nf4 codes", elements / 2);
                if (q.doubleQuant()) {
                    absmax = carver.take(MemoryUse.WEIGHTS, name + " absmax codes", blocks);
                    nestedAbsmax = carver.take(MemoryUse.WEIGHTS, name + " nested absmax",
                            4 * Absmax.DoubleQuantized.nestedBlocks(blocks, q.nestedBlocksize()));
                    nestedMap = carver.take(MemoryUse.WEIGHTS, name + " nested map", 4 * 256);
                } else {
                    absmax = carver.take(MemoryUse.WEIGHTS, name + " absmax", 4 * blocks);
                    nestedAbsmax = nestedMap = null;
                }
            }
        }
    }

    /** Bytes of bf16 scratch {@link #dense} needs: 0 for a dense weight. */
    long scratchBytes() {
        return format instanceof ProjectionFormat.Nf4 ? 2 * elements : 0;
    }

    /** Copies a loaded weight to the device; its format must be the planned one. */
    void upload(FrozenLinearWeight source) {
        ProjectionFormat actual = ProjectionFormat.of(source);
        if (!actual.equals(format)) {
            throw new IllegalArgumentException(name + ": weight is " + actual + " but memory was planned for " + format);
        }
        switch (source) {
            case FrozenLinearWeight.Dense d -> HostBf16.upload(d.tensor(), weight, name);
            case FrozenLinearWeight.Nf4 q -> {
                QuantState state = q.weight().state();
                if (!Arrays.equals(state.quantMap(), Nf4.table())) {
                    throw new IllegalArgumentException(name + ": the quant map is not the NF4 table; the GPU"
                            + " dequantizes NF4 only");
                }
                packed.copyFromHost(q.weight().packed());
                switch (state.absmax()) {
                    case Absmax.Plain p -> absmax.copyFromHost(p.values());
                    case Absmax.DoubleQuantized dq -> {
                        absmax.copyFromHost(dq.codes());
                        nestedAbsmax.copyFromHost(dq.nestedAbsmax());
                        nestedMap.copyFromHost(MemorySegment.ofArray(dq.nestedMap()));
                        offset = dq.offset();
                    }
                }
            }
        }
    }

    /**
     * The weight as the decode products read it, without dequantizing: bf16, or NF4 codes with their quant state
     * (valid once uploaded: the double-quantization offset comes with the weights).
     */
    MatvecKernels.Weight matvecWeight() {
        return switch (format) {
            case ProjectionFormat.Bf16 b -> new MatvecKernels.Bf16(weight, out);
            case ProjectionFormat.Nf4 q -> new MatvecKernels.Nf4(packed, absmax, nestedAbsmax, nestedMap, offset, out,
                    q.blocksize(), q.doubleQuant(), q.nestedBlocksize());
        };
    }

    ProjectionFormat format() {
        return format;
    }

    /** The weight as dense bf16 for one use: itself, or dequantized into {@code scratch} (queued on stream). */
    DeviceBuffer dense(Stream stream, Nf4Kernels nf4, DeviceBuffer scratch) {
        if (!(format instanceof ProjectionFormat.Nf4 q)) {
            return weight;
        }
        if (q.doubleQuant()) {
            nf4.dequantizeDoubleQuant(stream, scratch, packed, absmax, nestedMap, nestedAbsmax, offset, elements,
                    q.blocksize(), q.nestedBlocksize());
        } else {
            nf4.dequantize(stream, scratch, packed, absmax, elements, q.blocksize());
        }
        return scratch;
    }
}

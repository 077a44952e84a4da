package org.jtune.model.gpu;

import org.jtune.model.FrozenLinearWeight;
import org.jtune.quant.Absmax;
import org.jtune.quant.QuantState;

/** How one frozen projection is held on the device: dense bf16, or NF4 codes with their quant state. */
public sealed interface ProjectionFormat permits ProjectionFormat.Bf16, ProjectionFormat.Nf4 {

    /** Dense bf16 (weights stored as F32 or F16 are rounded to bf16 on upload). */
    record Bf16() implements ProjectionFormat {}

    /**
     * NF4 as bitsandbytes holds it: 4-bit codes, a float32 absmax per block, or with double quantization an 8-bit
     * code per block plus a float32 scale per {@code nestedBlocksize} blocks and a 256-entry map.
     */
    record Nf4(int blocksize, boolean doubleQuant, int nestedBlocksize) implements ProjectionFormat {}

    /** The format of a loaded weight. */
    static ProjectionFormat of(FrozenLinearWeight weight) {
        return switch (weight) {
            case FrozenLinearWeight.Dense d -> new Bf16();
            case FrozenLinearWeight.Nf4 q -> {
                QuantState state = q.weight().state();
                yield switch (state.absmax()) {
                    case Absmax.Plain p -> new Nf4(state.blocksize(), false, 0);
                    case Absmax.DoubleQuantized dq -> new Nf4(state.blocksize(), true, dq.nestedBlocksize());
                };
            }
        };
    }
}

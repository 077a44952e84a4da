package org.jtune.model;

import org.jtune.quant.Nf4Weight;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;

/**
 * Quantizes each projection to NF4 as it is loaded, as bitsandbytes does for {@code load_in_4bit}. The results
 * are allocated in {@code arena}; a shared arena (and a source readable from any thread) lets each weight be
 * quantized on all cores.
 */
public record Nf4OnLoad(int blocksize, boolean doubleQuant, Arena arena) implements ModelWeights.DenseProjections {

    @Override
    public FrozenLinearWeight hold(String module, Tensor weight) {
        return new FrozenLinearWeight.Nf4(Nf4Weight.quantize(module + ".weight", weight.segment(), weight.dtype(),
                weight.shape(), blocksize, doubleQuant, arena));
    }
}

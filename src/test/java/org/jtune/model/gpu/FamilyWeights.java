package org.jtune.model.gpu;

import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.Nf4OnLoad;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;

/**
 * Random bf16 weights for the GPU engine tests of a family, with what sets the family apart made large enough to
 * matter: the q/k/v biases get std 0.5 (the projections' outputs have rms about 0.8), and where q and k are
 * normalized per head their projections are scaled by 4, so that without the norms the attention scores would be
 * about 16 times as large. An engine that dropped a bias or a norm would then be off by far more than bf16 noise.
 */
final class FamilyWeights {
    private static final double STD = 0.05, BIAS_SCALE = 10, QK_SCALE = 4;

    private FamilyWeights() {}

    /** Dense bf16, or NF4 (block 64, double quantization) made from them; norms and biases stay bf16. */
    static ModelWeights create(ModelConfig c, boolean nf4, long seed, Arena arena) {
        WeightSource source = RandomWeights.create(c, DType.BF16, STD, seed, arena);
        for (String name : source.names()) {
            if (name.endsWith(".bias")) {
                scale(source.tensor(name), BIAS_SCALE);
            } else if (c.design().qkNorm() && (name.endsWith("q_proj.weight") || name.endsWith("k_proj.weight"))) {
                scale(source.tensor(name), QK_SCALE);
            }
        }
        return nf4 ? ModelWeights.load(c, source, new Nf4OnLoad(64, true, arena)) : ModelWeights.load(c, source);
    }

    private static void scale(Tensor t, double factor) {
        for (long i = 0; i < t.size(); i++) {
            t.set(i, (float) (t.get(i) * factor));
        }
    }
}

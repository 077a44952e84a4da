package org.jtune.io;

/**
 * The LoRA factors of one adapted module, row-major float32: {@code a} is {@code [rank, inFeatures]},
 * {@code b} is {@code [outFeatures, rank]}; the update is {@code scaling * B @ A}.
 *
 * @param modulePath the module's path in the base model, e.g. {@code model.layers.0.self_attn.q_proj}
 */
public record LoraModuleWeights(String modulePath, int rank, int inFeatures, int outFeatures, float[] a, float[] b) {

    /** Checks that the arrays hold {@code rank * inFeatures} and {@code outFeatures * rank} values. */
    public LoraModuleWeights {
        if (rank <= 0 || inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException(modulePath + ": rank " + rank + ", in " + inFeatures + ", out "
                    + outFeatures + " must all be positive");
        }
        if (a.length != (long) rank * inFeatures || b.length != (long) outFeatures * rank) {
            throw new IllegalArgumentException(modulePath + ": A has " + a.length + " values (want " + rank + "x"
                    + inFeatures + "), B has " + b.length + " (want " + outFeatures + "x" + rank + ")");
        }
    }
}

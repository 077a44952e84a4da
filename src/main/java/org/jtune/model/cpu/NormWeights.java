package org.jtune.model.cpu;

import org.jtune.model.ModelWeights;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;

/**
 * The weights one layer's RMSNorms multiply by, in float32: as the file stores them, or Gemma's {@code 1 + w}
 * (computed once, in float32, as transformers computes it on every call). Absent norms are null.
 *
 * @param mlp the norm of the MLP's input; {@code attentionOutput} and {@code mlpOutput} are Gemma 3's sandwich norms
 */
record NormWeights(Tensor input, Tensor q, Tensor k, Tensor attentionOutput, Tensor mlp, Tensor mlpOutput) {

    static NormWeights of(ModelWeights.Layer layer, boolean unitOffset, Arena arena) {
        return new NormWeights(effective(layer.inputNorm(), unitOffset, arena),
                effective(layer.qNorm(), unitOffset, arena), effective(layer.kNorm(), unitOffset, arena),
                effective(layer.attentionOutputNorm(), unitOffset, arena), effective(layer.mlpNorm(), unitOffset, arena),
                effective(layer.mlpOutputNorm(), unitOffset, arena));
    }

    /** {@code w} in float32, plus one with {@code unitOffset}, as a tensor; null stays null. */
    static Tensor effective(Tensor w, boolean unitOffset, Arena arena) {
        return w == null ? null : Tensor.of(arena, values(w, unitOffset), w.shape());
    }

    /** {@code w} in float32, plus one with {@code unitOffset}; null stays null. */
    static float[] values(Tensor w, boolean unitOffset) {
        if (w == null) {
            return null;
        }
        float[] v = w.toFloatArray();
        if (unitOffset) {
            for (int i = 0; i < v.length; i++) {
                v[i] += 1f;
            }
        }
        return v;
    }
}

package org.jtune.model.cpu;

import org.jtune.model.AttentionShape;
import org.jtune.tensor.Tensor;

/**
 * The operations a Llama/Mistral forward and backward pass is made of, with explicit output buffers so that a
 * backend allocates nothing in the step loop. Activations are F32 tensors of shape [tokens, features]; frozen
 * weights may be F32, BF16 or F16 (converted on use); token ids, positions, document ids and targets are I32
 * tensors of length tokens. Gradients named "accumulate" are added to; all other outputs are overwritten.
 * Unless a method says so, outputs must not share memory with inputs.
 */
public interface Ops {

    /** {@code out[t] = table[tokens[t]]}; table [V, D], out [N, D]. */
    void embedding(Tensor table, Tensor tokens, Tensor out);

    /**
     * RMSNorm: {@code out = x * invRms * weight} with {@code invRms[t] = 1/sqrt(mean(x[t]^2) + eps)}, saved for
     * backward. x, out [N, D]; weight [D]; invRms [N].
     */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor invRms);

    /** Gradient of {@link #rmsNorm} with respect to x (the weight is frozen); added to dX if accumulate. */
    void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor invRms, Tensor dX, boolean accumulate);

    /** {@code y = x·wᵀ (+ bias)}; x [N, in], w [out, in], bias [out] or null, y [N, out]. */
    void linear(Tensor x, Tensor w, Tensor bias, Tensor y);

    /** {@code dX = dY·w} (or {@code dX += dY·w} if accumulate); dY [N, out], w [out, in], dX [N, in]. */
    void linearBackwardInput(Tensor dY, Tensor w, Tensor dX, boolean accumulate);

    /**
     * LoRA branch: {@code xa = x·aᵀ} (saved for backward), then {@code y += scaling · xa·bᵀ}.
     * x [N, in], a [r, in], b [out, r], xa [N, r], y [N, out].
     */
    void loraForward(Tensor x, Tensor a, Tensor b, float scaling, Tensor xa, Tensor y);

    /**
     * Backward of {@link #loraForward}: with {@code g = scaling · dY·b} (written to dXa [N, r]),
     * {@code dA += gᵀ·x}, {@code dB += scaling · dYᵀ·xa} and {@code dX += g·a}.
     */
    void loraBackward(Tensor x, Tensor xa, Tensor a, Tensor b, float scaling, Tensor dY,
                      Tensor dXa, Tensor dA, Tensor dB, Tensor dX);

    /**
     * Rotary embedding in place on x [N, heads*d], split-half (rotate_half) convention, angle
     * {@code positions[t] * invFreq[i]}; invFreq [d/2] F32. With {@code inverse} it rotates by the negative angle,
     * which is the backward of the forward rotation.
     */
    void rope(Tensor x, int heads, Tensor positions, Tensor invFreq, boolean inverse);

    /**
     * Causal grouped-query attention with optional sliding window and packed documents: query t sees key u of the
     * same batch row only if {@code docIds[u] == docIds[t]}, u ≤ t and (window) u > t - window.
     * q, out [N, H*d]; k, v [N, K*d]; docIds [N]; lse [N, H] receives the log-sum-exp of the scaled scores.
     */
    void attention(Tensor q, Tensor k, Tensor v, Tensor docIds, AttentionShape shape, Tensor out, Tensor lse);

    /** Backward of {@link #attention}: writes dQ, dK, dV (dK and dV summed over the query heads of a group). */
    void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor dOut, Tensor lse, Tensor docIds,
                           AttentionShape shape, Tensor dQ, Tensor dK, Tensor dV);

    /** {@code out = silu(gate) * up}, elementwise; all [N, I]. */
    void swiglu(Tensor gate, Tensor up, Tensor out);

    /**
     * Backward of {@link #swiglu}, recomputing silu. dGate and dUp may be the very buffers gate and up
     * (in place): each element is read before it is written.
     */
    void swigluBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp);

    /** {@code out = gelu_tanh(gate) * up} (GeGLU with the tanh-approximated GELU), elementwise; all [N, I]. */
    void geglu(Tensor gate, Tensor up, Tensor out);

    /** Backward of {@link #geglu}, recomputing the GELU; in place as {@link #swigluBackward}. */
    void gegluBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp);

    /** {@code x *= factor}, elementwise. */
    void scale(Tensor x, float factor);

    /** {@code out = a + b}, elementwise; out may be a or b. */
    void add(Tensor a, Tensor b, Tensor out);

    /**
     * Softmax cross-entropy per row, logits [n, V], targets [n] (-100 = ignored row). Writes the row loss
     * {@code logsumexp(logits) - logits[target]} (0 for ignored rows) to rowLoss [n], and overwrites logits with
     * the gradient {@code gradScale · (softmax - onehot(target))} (zeros for ignored rows).
     */
    void crossEntropy(Tensor logits, Tensor targets, float gradScale, Tensor rowLoss);
}

package org.jtune.model.cpu;

import org.jtune.tensor.Tensor;

import java.util.List;

/** Clipping of gradients by their global L2 norm, as {@code torch.nn.utils.clip_grad_norm_} (norm type 2). */
public final class GradientClipping {
    private GradientClipping() {}

    /**
     * Returns the global norm of all gradients and, if it exceeds {@code maxNorm}, scales them all by
     * {@code maxNorm / (norm + 1e-6)} (torch's coefficient, with its 1e-6). The norm is summed in double.
     *
     * @throws ArithmeticException if the norm is NaN or infinite (torch would silently write NaN into the weights)
     */
    public static double clipByGlobalNorm(List<Tensor> grads, double maxNorm) {
        double sumSquares = 0;
        for (Tensor g : grads) {
            for (long i = 0; i < g.size(); i++) {
                double x = g.get(i);
                sumSquares += x * x;
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (!Double.isFinite(norm)) {
            throw new ArithmeticException("the gradient norm is " + norm + ": the loss or a gradient overflowed");
        }
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1) {
            // torch multiplies by min(coefficient, 1) always; multiplying by 1 changes nothing, so it is skipped.
            float c = (float) coefficient;
            for (Tensor g : grads) {
                for (long i = 0; i < g.size(); i++) {
                    g.set(i, g.get(i) * c);
                }
            }
        }
        return norm;
    }
}

package org.jtune.model;

/**
 * The optimizer of every engine: AdamW as {@code torch.optim.AdamW} (decoupled weight decay, amsgrad off) after
 * clipping the gradients by their global norm as {@code torch.nn.utils.clip_grad_norm_}. The learning rate is set
 * per step by the trainer's schedule.
 *
 * @param maxGradNorm the global norm the gradients are clipped to; 0 to not clip
 */
public record OptimizerSettings(double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
    public OptimizerSettings {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps >= 0) || !(weightDecay >= 0) || Double.isInfinite(eps) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("Adam eps and weight decay must be finite and >= 0, got " + eps
                    + ", " + weightDecay);
        }
        if (!(maxGradNorm >= 0) || Double.isInfinite(maxGradNorm)) {
            throw new IllegalArgumentException("max_grad_norm must be finite and >= 0, got " + maxGradNorm);
        }
    }
}

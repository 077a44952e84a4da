package org.jtune.model.cpu;

import org.jtune.model.OptimizerSettings;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} (amsgrad off, not maximizing) over a list of float32 parameters, which are
 * their own master weights; the moments are float32 too. The weight decay is decoupled: it multiplies the
 * parameter by {@code 1 - lr * weightDecay} before the Adam update, as torch does. Clipping
 * ({@link OptimizerSettings#maxGradNorm()}) is {@link GradientClipping}'s, before the update.
 */
public final class AdamW {

    private final OptimizerSettings settings;
    private final List<Tensor> params;
    private final List<Tensor> expAvg = new ArrayList<>();
    private final List<Tensor> expAvgSq = new ArrayList<>();
    private long step;

    /** Zero moments, step 0; the moments live in {@code arena}. */
    public AdamW(List<Tensor> params, OptimizerSettings settings, Arena arena) {
        this.settings = settings;
        this.params = List.copyOf(params);
        for (Tensor p : this.params) {
            if (p.dtype() != DType.F32) {
                throw new IllegalArgumentException("AdamW keeps float32 master weights; got a " + p + " parameter");
            }
            expAvg.add(Tensor.f32(arena, p.shape()));
            expAvgSq.add(Tensor.f32(arena, p.shape()));
        }
    }

    /**
     * One update with learning rate {@code lr}; {@code grads.get(i)} is the gradient of parameter i. Per element, as
     * torch's single-tensor path: {@code p *= 1 - lr*wd; m = lerp(m, g, 1-beta1); v = v*beta2 + (1-beta2)*g*g;
     * p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)}.
     */
    public void step(List<Tensor> grads, double lr) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException(grads.size() + " gradients for " + params.size() + " parameters");
        }
        step++;
        // Python floats (double) for the scalars, as torch computes them on the host; they meet the float data
        // as float, as in torch's CPU kernels.
        float decay = (float) (1 - lr * settings.weightDecay());
        float beta1 = (float) settings.beta1(), beta2 = (float) settings.beta2();
        float oneMinusBeta1 = (float) (1 - settings.beta1()), oneMinusBeta2 = (float) (1 - settings.beta2());
        double biasCorrection1 = 1 - Math.pow(settings.beta1(), step);
        double biasCorrection2 = 1 - Math.pow(settings.beta2(), step);
        float stepSize = (float) (lr / biasCorrection1);
        float biasCorrection2Sqrt = (float) Math.sqrt(biasCorrection2);
        float eps = (float) settings.eps();
        for (int t = 0; t < params.size(); t++) {
            Tensor p = params.get(t), g = grads.get(t), m = expAvg.get(t), v = expAvgSq.get(t);
            if (g.size() != p.size()) {
                throw new IllegalArgumentException("gradient " + g + " does not match parameter " + p);
            }
            for (long i = 0; i < p.size(); i++) {
                float gi = g.get(i);
                float mi = m.get(i);
                mi = mi + oneMinusBeta1 * (gi - mi);
                float vi = v.get(i) * beta2 + oneMinusBeta2 * gi * gi;
                m.set(i, mi);
                v.set(i, vi);
                float denom = (float) Math.sqrt(vi) / biasCorrection2Sqrt + eps;
                p.set(i, p.get(i) * decay - stepSize * (mi / denom));
            }
        }
    }

    /** Updates done so far (torch's {@code state["step"]}). */
    public long stepCount() {
        return step;
    }

    /** The parameters, in the order given. */
    public List<Tensor> parameters() {
        return params;
    }

    /** First moments ({@code exp_avg}), one per parameter; writable, to restore a checkpoint. */
    public List<Tensor> firstMoments() {
        return List.copyOf(expAvg);
    }

    /** Second moments ({@code exp_avg_sq}), one per parameter; writable, to restore a checkpoint. */
    public List<Tensor> secondMoments() {
        return List.copyOf(expAvgSq);
    }

    /** Zero moments and step 0, as a fresh optimizer. */
    public void reset() {
        for (int t = 0; t < params.size(); t++) {
            expAvg.get(t).zero();
            expAvgSq.get(t).zero();
        }
        step = 0;
    }

    /** Sets the update count, with the moments restored through {@link #firstMoments()} and {@link #secondMoments()}. */
    public void restoreStepCount(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + steps);
        }
        this.step = steps;
    }
}

package org.jtune.train;

/**
 * The DPO settings beyond {@link TrainingArguments}, named after TRL's {@code DPOConfig}: {@code beta} 0.1, loss
 * {@code sigmoid}, no label smoothing, reference log-probabilities computed in each step.
 *
 * @param beta                     the temperature of the implicit reward (higher: stay closer to the reference)
 * @param lossType                 the loss
 * @param labelSmoothing           conservative DPO's assumed rate of flipped labels, in [0, 0.5); sigmoid only
 * @param precomputeRefLogProbs    compute the reference log-probabilities once over the data before training
 *                                 instead of in every step (the same numbers, one reference forward per pair in
 *                                 all instead of one per pair per epoch)
 */
public record DpoArguments(double beta, DpoLossType lossType, double labelSmoothing, boolean precomputeRefLogProbs) {

    public DpoArguments {
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("beta must be positive, got " + beta);
        }
        if (lossType == null) {
            throw new IllegalArgumentException("loss_type must be set");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("label_smoothing must be in [0, 0.5), got " + labelSmoothing);
        }
        if (labelSmoothing != 0 && lossType != DpoLossType.SIGMOID) {
            // TRL warns and ignores it; a setting that does nothing is refused here
            throw new IllegalArgumentException("label_smoothing applies to the sigmoid loss only, not to "
                    + lossType.trlName());
        }
    }

    /** TRL's defaults. */
    public static DpoArguments defaults() {
        return new DpoArguments(0.1, DpoLossType.SIGMOID, 0, false);
    }

    public DpoArguments withBeta(double v) {
        return new DpoArguments(v, lossType, labelSmoothing, precomputeRefLogProbs);
    }

    public DpoArguments withLossType(DpoLossType v) {
        return new DpoArguments(beta, v, labelSmoothing, precomputeRefLogProbs);
    }

    public DpoArguments withLabelSmoothing(double v) {
        return new DpoArguments(beta, lossType, v, precomputeRefLogProbs);
    }

    public DpoArguments withPrecomputeRefLogProbs(boolean v) {
        return new DpoArguments(beta, lossType, labelSmoothing, v);
    }

    /** The loss these settings define. */
    public DpoLoss loss() {
        return new DpoLoss(lossType, beta, labelSmoothing);
    }
}

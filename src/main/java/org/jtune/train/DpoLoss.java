package org.jtune.train;

/**
 * The DPO losses of one preference pair and their derivatives with respect to the policy's sequence
 * log-probabilities, in double precision. The formulas are TRL's ({@code DPOTrainer.dpo_loss} of TRL 0.28, where
 * the sigmoid loss still takes {@code label_smoothing}; TRL 1.x computes the same losses for label smoothing 0).
 * With the log-ratios {@code ρc = πc - πref,c} and {@code ρr = πr - πref,r} of the summed completion
 * log-probabilities and {@code Δ = ρc - ρr}:
 * <ul>
 *   <li>sigmoid: {@code -(1-ε)·log σ(βΔ) - ε·log σ(-βΔ)}</li>
 *   <li>hinge: {@code max(0, 1 - βΔ)}</li>
 *   <li>ipo: {@code (ρc/nc - ρr/nr - 1/(2β))²}, nc and nr the completion tokens of each side (at least 1): TRL
 *       averages the log-probabilities per completion token for IPO</li>
 * </ul>
 * A batch's loss is the mean over its pairs.
 */
public record DpoLoss(DpoLossType type, double beta, double labelSmoothing) {

    /** The loss of a pair and its partial derivatives with respect to the policy's chosen and rejected log p. */
    public record PairLoss(double loss, double dChosen, double dRejected) {}

    /**
     * @param chosenTokens   completion tokens scored on the chosen side (used by IPO)
     * @param rejectedTokens the same on the rejected side
     */
    public PairLoss pair(double policyChosen, double policyRejected, double referenceChosen,
                         double referenceRejected, long chosenTokens, long rejectedTokens) {
        double chosenRatio = policyChosen - referenceChosen, rejectedRatio = policyRejected - referenceRejected;
        return switch (type) {
            case SIGMOID -> {
                double z = beta * (chosenRatio - rejectedRatio);
                double loss = -(1 - labelSmoothing) * logSigmoid(z) - labelSmoothing * logSigmoid(-z);
                double dz = -(1 - labelSmoothing) * sigmoid(-z) + labelSmoothing * sigmoid(z);
                yield new PairLoss(loss, beta * dz, -beta * dz);
            }
            case HINGE -> {
                double z = beta * (chosenRatio - rejectedRatio);
                // torch's relu has gradient 0 at 0
                double dz = 1 - z > 0 ? -1 : 0;
                yield new PairLoss(Math.max(0, 1 - z), beta * dz, -beta * dz);
            }
            case IPO -> {
                double nc = Math.max(1, chosenTokens), nr = Math.max(1, rejectedTokens);
                double gap = chosenRatio / nc - rejectedRatio / nr - 1 / (2 * beta);
                yield new PairLoss(gap * gap, 2 * gap / nc, -2 * gap / nr);
            }
        };
    }

    /** The implicit reward of one side: β times its log-ratio to the reference (TRL's {@code rewards/...}). */
    public double reward(double policyLogProb, double referenceLogProb) {
        return beta * (policyLogProb - referenceLogProb);
    }

    /** {@code log σ(x)} without overflow for either sign. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}

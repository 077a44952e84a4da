package org.jtune.bench;

/**
 * How far jtune's losses are from the peer's over a fidelity run, against issue 15's thresholds: the mean over
 * steps of |jtune - peer| / peer below 1%, no drift, and final eval losses within 0.5%.
 *
 * <p>Drift is the growth of the gap over the run: the least-squares line through the per-step relative gaps
 * |jtune - peer| / peer, its slope times the steps between the first and the last. A gap that stays at its level
 * (noise included) gives about 0; one that widens from 0 to g gives g. "No drift" is taken as a growth below half
 * the mean threshold (0.5%): a gap that has widened by that much is heading past 1%. The first and last quarters'
 * mean gaps are given beside it.
 *
 * <p>The comparison only means something if the run moves: if the loss barely falls, a run whose gradient were
 * wrong (or zero) would stay within 1% of the peer. The peer's loss must fall by at least 5% (five times the mean
 * threshold) from the first quarter of the steps to the last; else the verdict is INCONCLUSIVE.
 *
 * @param meanRelativeGap   mean over steps of |jtune - peer| / peer
 * @param drift             growth of the relative gap over the run, by the fitted line
 * @param firstQuarterGap   mean relative gap over the first quarter of the steps
 * @param lastQuarterGap    mean relative gap over the last quarter
 * @param meanSignedGap     mean of (jtune - peer) / peer: whether jtune sits above or below
 * @param evalRelativeGap   |jtune eval - peer eval| / peer eval
 * @param peerLossFall      how far the peer's loss fell: 1 - (mean of the last quarter / mean of the first)
 */
record FidelityStats(int steps, double meanRelativeGap, double drift, double firstQuarterGap, double lastQuarterGap,
                     double meanSignedGap, double evalRelativeGap, double peerLossFall) {
    static final double MAX_MEAN_GAP = 0.01, MAX_DRIFT = 0.005, MAX_EVAL_GAP = 0.005, MIN_LOSS_FALL = 0.05;

    /**
     * @throws IllegalArgumentException if the runs have different step counts, fewer than 2 steps, or a loss that is
     *                                  not a positive finite number
     */
    static FidelityStats of(double[] jtune, double[] peer, double jtuneEval, double peerEval) {
        if (jtune.length != peer.length) {
            throw new IllegalArgumentException("jtune logged " + jtune.length + " steps but the peer " + peer.length);
        }
        int n = jtune.length;
        if (n < 2) {
            throw new IllegalArgumentException("a fidelity report needs at least 2 steps, got " + n);
        }
        double[] gap = new double[n];
        double sum = 0, signed = 0;
        for (int i = 0; i < n; i++) {
            requireLoss(jtune[i], "jtune's loss at step " + (i + 1));
            requireLoss(peer[i], "the peer's loss at step " + (i + 1));
            gap[i] = Math.abs(jtune[i] - peer[i]) / peer[i];
            sum += gap[i];
            signed += (jtune[i] - peer[i]) / peer[i];
        }
        requireLoss(jtuneEval, "jtune's eval loss");
        requireLoss(peerEval, "the peer's eval loss");
        int quarter = Math.max(1, n / 4);
        return new FidelityStats(n, sum / n, slope(gap) * (n - 1), mean(gap, 0, quarter), mean(gap, n - quarter, n),
                signed / n, Math.abs(jtuneEval - peerEval) / peerEval,
                1 - mean(peer, n - quarter, n) / mean(peer, 0, quarter));
    }

    private static void requireLoss(double loss, String what) {
        if (!(loss > 0) || Double.isInfinite(loss)) {
            throw new IllegalArgumentException(what + " is " + loss + "; a cross-entropy must be positive and finite");
        }
    }

    /** Least-squares slope of y against its index. */
    static double slope(double[] y) {
        int n = y.length;
        double meanX = (n - 1) / 2.0, meanY = mean(y, 0, n), sxy = 0, sxx = 0;
        for (int i = 0; i < n; i++) {
            sxy += (i - meanX) * (y[i] - meanY);
            sxx += (i - meanX) * (i - meanX);
        }
        return sxy / sxx;
    }

    private static double mean(double[] y, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += y[i];
        }
        return s / (to - from);
    }

    boolean meanPasses() {
        return meanRelativeGap < MAX_MEAN_GAP;
    }

    boolean driftPasses() {
        return drift < MAX_DRIFT;
    }

    boolean evalPasses() {
        return evalRelativeGap < MAX_EVAL_GAP;
    }

    /** Whether the run moved far enough for the comparison to tell a trained run from an untrained one. */
    boolean conclusive() {
        return peerLossFall >= MIN_LOSS_FALL;
    }

    boolean passes() {
        return meanPasses() && driftPasses() && evalPasses();
    }

    /** PASS, FAIL, or INCONCLUSIVE when the thresholds are met by a run that did not move. */
    String verdict() {
        return !passes() ? "FAIL" : conclusive() ? "PASS" : "INCONCLUSIVE";
    }
}

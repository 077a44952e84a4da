package org.jtune.bench;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jtune.train.report.LossCurvePlot;

/**
 * {@code jtune-bench fidelity-report DIR}: compares DIR/jtune.jsonl with DIR/peer.jsonl. Prints the per-step losses
 * side by side (every 10th step, and the first and last), the statistics of {@link FidelityStats}, the eval losses
 * and PASS or FAIL against issue 15's thresholds (INCONCLUSIVE if the run did not move); draws both loss curves and both eval losses into
 * DIR/fidelity.png.
 */
final class FidelityReport {
    static final String PLOT = "fidelity.png";
    static final Color JTUNE_COLOR = LossCurvePlot.TRAIN_COLOR, PEER_COLOR = LossCurvePlot.EVAL_COLOR;
    /** matplotlib's third and fourth colours. */
    static final Color JTUNE_EVAL_COLOR = new Color(44, 160, 44), PEER_EVAL_COLOR = new Color(214, 39, 40);

    private FidelityReport() {}

    /** Reports on {@code args[0]}; returns whether the verdict is PASS. */
    static boolean main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: fidelity-report DIR (the --out folder of fidelity, with "
                    + FidelityRun.LOG + " and peer.jsonl)");
        }
        return report(Path.of(args[0]), System.out);
    }

    static boolean report(Path dir, PrintStream out) throws IOException {
        FidelityLog.Contents jtune = FidelityLog.read(dir.resolve(FidelityRun.LOG));
        FidelityLog.Contents peer = FidelityLog.read(dir.resolve("peer.jsonl"));
        FidelityStats stats = FidelityStats.of(jtune.losses(), peer.losses(), jtune.evalLoss(), peer.evalLoss());
        if (jtune.run() != null) {
            out.println("jtune: " + jtune.run());
        }
        if (peer.run() != null) {
            out.println("peer:  " + peer.run());
        }
        out.printf(Locale.ROOT, "%6s %12s %12s %10s %12s %12s%n", "step", "jtune", "peer", "gap", "jtune |g|",
                "peer |g|");
        int n = stats.steps();
        for (int i = 0; i < n; i++) {
            int step = i + 1;
            if (step == 1 || step % 10 == 0 || step == n) {
                out.printf(Locale.ROOT, "%6d %12.5f %12.5f %+9.3f%% %12.4f %12.4f%n", step, jtune.losses()[i],
                        peer.losses()[i], 100 * (jtune.losses()[i] - peer.losses()[i]) / peer.losses()[i],
                        jtune.gradNorms()[i], peer.gradNorms()[i]);
            }
        }
        out.printf(Locale.ROOT, "mean |jtune - peer| / peer over %d steps: %.4f%% (threshold %.1f%%) %s%n", n,
                100 * stats.meanRelativeGap(), 100 * FidelityStats.MAX_MEAN_GAP, verdict(stats.meanPasses()));
        out.printf(Locale.ROOT, "mean (jtune - peer) / peer: %+.4f%%%n", 100 * stats.meanSignedGap());
        out.printf(Locale.ROOT, "drift (growth of the gap over the run, fitted line): %+.4f%% (threshold %.1f%%);"
                        + " first quarter %.4f%%, last quarter %.4f%% %s%n", 100 * stats.drift(),
                100 * FidelityStats.MAX_DRIFT, 100 * stats.firstQuarterGap(), 100 * stats.lastQuarterGap(),
                verdict(stats.driftPasses()));
        out.printf(Locale.ROOT, "eval loss: jtune %.5f, peer %.5f, gap %.4f%% (threshold %.1f%%) %s%n",
                jtune.evalLoss(), peer.evalLoss(), 100 * stats.evalRelativeGap(), 100 * FidelityStats.MAX_EVAL_GAP,
                verdict(stats.evalPasses()));
        out.printf(Locale.ROOT, "the peer's loss fell %.2f%% (first quarter to last; at least %.0f%% needed for the"
                + " comparison to tell a trained run from an untrained one)%n", 100 * stats.peerLossFall(),
                100 * FidelityStats.MIN_LOSS_FALL);
        Path plot = dir.resolve(PLOT);
        LossCurvePlot.write(plot, series(jtune, peer));
        out.println("plot: " + plot);
        out.println("fidelity: " + stats.verdict());
        return stats.verdict().equals("PASS");
    }

    private static String verdict(boolean passes) {
        return passes ? "PASS" : "FAIL";
    }

    /**
     * Both loss curves, the peer's wide under jtune's narrow one so that both show where they agree, and each eval
     * loss as a point at the last step.
     */
    static List<LossCurvePlot.Series> series(FidelityLog.Contents jtune, FidelityLog.Contents peer) {
        int n = jtune.losses().length;
        return List.of(new LossCurvePlot.Series("PEER", PEER_COLOR, curve(peer.losses()), false, 6),
                new LossCurvePlot.Series("JTUNE", JTUNE_COLOR, curve(jtune.losses()), false, 2),
                new LossCurvePlot.Series("PEER EVAL", PEER_EVAL_COLOR,
                        List.of(new LossCurvePlot.Point(n, peer.evalLoss())), true, 5),
                new LossCurvePlot.Series("JTUNE EVAL", JTUNE_EVAL_COLOR,
                        List.of(new LossCurvePlot.Point(n, jtune.evalLoss())), true));
    }

    private static List<LossCurvePlot.Point> curve(double[] losses) {
        List<LossCurvePlot.Point> points = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            points.add(new LossCurvePlot.Point(i + 1, losses[i]));
        }
        return points;
    }
}

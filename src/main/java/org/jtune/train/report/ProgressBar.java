package org.jtune.train.report;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * Console progress: on a terminal one line redrawn in place with {@code \r} after every step; otherwise (a file, a
 * pipe, CI) a plain line per logging step, so that logs stay readable.
 */
public final class ProgressBar implements TrainingListener {
    private static final int BAR_WIDTH = 20;

    private final PrintStream out;
    private final boolean terminal;
    private int lastLength;

    public ProgressBar(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Progress on standard output, redrawn in place when it is a terminal. */
    public static ProgressBar onStandardOutput() {
        java.io.Console console = System.console();
        return new ProgressBar(System.out, console != null && console.isTerminal());
    }

    /** The memory the engine holds, once, before the first step. */
    @Override
    public void onStart(String memoryReport) {
        out.println("memory: " + memoryReport);
        out.flush();
    }

    @Override
    public void onStep(StepProgress p) {
        if (!terminal) {
            return;
        }
        String line = line(p);
        // pad with spaces so that a shorter line fully covers the previous one
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
    }

    @Override
    public void onLog(TrainLog log) {
        if (!terminal) {
            out.println(String.format(Locale.ROOT, "step %d | epoch %.2f | loss %.4f%s | lr %.3e | grad_norm %.4f | "
                    + "%.0f tokens/s", log.step(), log.epoch(), log.loss(), metrics(log.metrics()), log.learningRate(),
                    log.gradNorm(), log.tokensPerSecond()));
        }
    }

    @Override
    public void onEval(EvalLog log) {
        String text = String.format(Locale.ROOT, "eval at step %d | loss %.4f%s | %d tokens", log.step(), log.loss(),
                metrics(log.metrics()), log.labelledTokens());
        if (terminal) {
            out.print("\r" + text + " ".repeat(Math.max(0, lastLength - text.length())) + "\n");
            lastLength = 0;
        } else {
            out.println(text);
        }
        out.flush();
    }

    @Override
    public void onEnd() {
        if (terminal && lastLength > 0) {
            out.println();
        }
        out.flush();
    }

    /** {@code 12/60 [####------]  20% | loss 2.3456 | lr 1.60e-04 | 1234 tok/s | ETA 0:01:23} */
    static String line(StepProgress p) {
        double fraction = p.totalSteps() == 0 ? 1 : (double) p.step() / p.totalSteps();
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        return String.format(Locale.ROOT, "%d/%d [%s%s] %3d%% | loss %.4f | lr %.2e | %.0f tok/s | ETA %s",
                p.step(), p.totalSteps(), "#".repeat(filled), "-".repeat(BAR_WIDTH - filled),
                Math.round(fraction * 100), p.loss(), p.learningRate(), p.tokensPerSecond(), clock(p.etaSeconds()));
    }

    /** {@code " | rewards/margins 0.1234 | ..."}, or nothing when there are no further metrics. */
    private static String metrics(Map<String, Double> metrics) {
        StringBuilder s = new StringBuilder();
        metrics.forEach((name, value) -> s.append(String.format(Locale.ROOT, " | %s %.4f", name, value)));
        return s.toString();
    }

    private static String clock(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}

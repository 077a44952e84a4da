package org.jtune.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of {@code generate}: on a terminal one line redrawn in place as each prompt finishes; otherwise a line
 * at every tenth of the prompts, so that logs stay short. Called from the decode thread.
 */
final class GenerationProgress {
    private static final int BAR_WIDTH = 20;

    private final PrintStream out;
    private final boolean terminal;
    private final int total;
    private final long start = System.nanoTime();
    private int done, lastLength;
    private long tokens;

    GenerationProgress(PrintStream out, boolean terminal, int total) {
        this.out = out;
        this.terminal = terminal;
        this.total = total;
    }

    synchronized void finished(int newTokens) {
        done++;
        tokens += newTokens;
        String line = line();
        if (terminal) {
            out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
            lastLength = line.length();
            if (done == total) {
                out.println();
            }
        } else if (done == total || done * 10L / total != (done - 1) * 10L / total) {
            out.println(line);
        }
        out.flush();
    }

    synchronized long tokens() {
        return tokens;
    }

    double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    /** {@code 37/100 [#######-------------]  37% | 1234 new tokens | 45.6 tok/s | ETA 0:01:23} */
    private String line() {
        double fraction = (double) done / total, s = seconds();
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        long eta = done == 0 ? 0 : Math.round(s / done * (total - done));
        return String.format(Locale.ROOT, "%d/%d [%s%s] %3d%% | %d new tokens | %.1f tok/s | ETA %d:%02d:%02d", done,
                total, "#".repeat(filled), "-".repeat(BAR_WIDTH - filled), Math.round(fraction * 100), tokens,
                tokens / Math.max(s, 1e-9), eta / 3600, eta / 60 % 60, eta % 60);
    }
}

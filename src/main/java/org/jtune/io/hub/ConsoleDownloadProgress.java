package org.jtune.io.hub;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Download progress on a console: on a terminal one bar per file redrawn in place
 * ({@code model-00001-of-00004.safetensors  1.2 GiB / 4.6 GiB [#####---------------]  26%  85.3 MiB/s}); elsewhere
 * (a file, a pipe, CI) one line when a file starts and one when it is done.
 */
public final class ConsoleDownloadProgress implements DownloadProgress {
    private static final int BAR_WIDTH = 20;
    private static final long REDRAW_NANOS = 200_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private String name;
    private long total;
    private long done;
    private long resumedFrom;
    private long startNanos;
    private long lastDraw;
    private int lastLength;

    public ConsoleDownloadProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void start(String file, long size, long already) {
        name = file;
        total = size;
        done = already;
        resumedFrom = already;
        startNanos = System.nanoTime();
        lastDraw = 0;
        if (terminal) {
            draw();
        } else {
            out.println("downloading " + file + " (" + bytes(size) + (already > 0 ? ", resuming at " + bytes(already)
                    : "") + ")");
        }
    }

    @Override
    public void advance(long bytes) {
        done += bytes;
        long now = System.nanoTime();
        if (terminal && now - lastDraw > REDRAW_NANOS) {
            draw();
        }
    }

    @Override
    public void finish() {
        if (name == null) {
            return;
        }
        if (terminal) {
            draw();
            out.println();
            lastLength = 0;
        } else {
            out.printf(Locale.ROOT, "  %s: %s in %.0f s%n", name, bytes(done), seconds());
        }
        out.flush();
        name = null;
    }

    @Override
    public void note(String line) {
        out.println(line);
    }

    private void draw() {
        lastDraw = System.nanoTime();
        double fraction = total == 0 ? 1 : (double) done / total;
        int filled = (int) Math.round(Math.min(1, fraction) * BAR_WIDTH);
        double rate = (done - resumedFrom) / Math.max(1e-3, seconds());
        String line = String.format(Locale.ROOT, "%s  %s / %s [%s%s] %3d%%  %s/s", name, bytes(done), bytes(total),
                "#".repeat(filled), "-".repeat(BAR_WIDTH - filled), Math.round(fraction * 100), bytes((long) rate));
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
    }

    private double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** 512 B, 3.4 KiB, 1.2 GiB. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}

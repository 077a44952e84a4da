package org.jtune.train.report;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Draws the training and eval loss against the step into a PNG: axes, ticks with labels, both curves, a legend. */
public final class LossCurvePlot {
    /** The file name in the output folder. */
    public static final String FILE_NAME = "loss_curve.png";
    public static final int WIDTH = 800, HEIGHT = 500;

    /** The colours of the training and the eval curve (matplotlib's first two). */
    public static final Color TRAIN_COLOR = new Color(31, 119, 180), EVAL_COLOR = new Color(255, 127, 14);
    private static final int LEFT = 90, RIGHT = 30, TOP = 50, BOTTOM = 70, TEXT_SCALE = 2;

    private LossCurvePlot() {}

    /** A point of a curve. */
    public record Point(double step, double loss) {}

    /**
     * A curve with its legend label (in the capitals, digits and signs the plot font has), drawn as a line
     * {@code width} pixels wide, with a square at every point if {@code markers} (for curves of few points, such as
     * evaluations). Curves are drawn in list order: a wide curve under a narrow one stays visible where they meet.
     */
    public record Series(String label, Color color, List<Point> points, boolean markers, float width) {
        /** A curve 2 pixels wide. */
        public Series(String label, Color color, List<Point> points, boolean markers) {
            this(label, color, points, markers, 2);
        }
    }

    /** Writes the training curve and the eval points to {@code file} (through a temporary file, renamed into place). */
    public static void write(Path file, List<Point> train, List<Point> eval) throws IOException {
        List<Series> series = new ArrayList<>(List.of(new Series("TRAIN", TRAIN_COLOR, train, false)));
        if (!eval.isEmpty()) {
            series.add(new Series("EVAL", EVAL_COLOR, eval, true));
        }
        write(file, series);
    }

    /** Writes any number of curves, each in the legend, to {@code file} (through a temporary file). */
    public static void write(Path file, List<Series> series) throws IOException {
        BufferedImage image = draw(series);
        Path folder = file.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        Path temporary = org.jtune.io.AtomicFiles.temporaryFile(folder, file.getFileName().toString());
        try {
            if (!ImageIO.write(image, "png", temporary.toFile())) {
                throw new IOException("no PNG writer available in this Java runtime");
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** The curves from a run's metrics. */
    public static void write(Path file, MetricsFile metrics) throws IOException {
        List<Point> train = new ArrayList<>(), eval = new ArrayList<>();
        metrics.trainLogs().forEach(l -> train.add(new Point(l.step(), l.loss())));
        metrics.evalLogs().forEach(l -> eval.add(new Point(l.step(), l.loss())));
        write(file, train, eval);
    }

    static BufferedImage draw(List<Series> series) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            Axes axes = Axes.fit(series.stream().map(Series::points).toList());
            drawAxes(g, axes);
            for (Series s : series) {
                drawCurve(g, axes, s.points(), s.color(), s.markers(), s.width());
            }
            drawLegend(g, series);
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Data ranges rounded out to tick marks, and the mapping to pixels. */
    private record Axes(double[] xTicks, double[] yTicks) {
        static Axes fit(List<List<Point>> curves) {
            double maxStep = 1, minLoss = Double.POSITIVE_INFINITY, maxLoss = Double.NEGATIVE_INFINITY;
            for (List<Point> curve : curves) {
                for (Point p : curve) {
                    maxStep = Math.max(maxStep, p.step());
                    if (Double.isFinite(p.loss())) {
                        minLoss = Math.min(minLoss, p.loss());
                        maxLoss = Math.max(maxLoss, p.loss());
                    }
                }
            }
            if (minLoss > maxLoss) {
                minLoss = 0;
                maxLoss = 1;
            } else if (maxLoss - minLoss < 1e-6 * Math.max(1, Math.abs(maxLoss))) {
                double pad = Math.max(0.05 * Math.abs(maxLoss), 1e-3);
                minLoss -= pad;
                maxLoss += pad;
            }
            return new Axes(ticks(0, maxStep, true), ticks(minLoss, maxLoss, false));
        }

        double x(double step) {
            return LEFT + (step - xTicks[0]) / (xTicks[xTicks.length - 1] - xTicks[0]) * (WIDTH - LEFT - RIGHT);
        }

        double y(double loss) {
            double lo = yTicks[0], hi = yTicks[yTicks.length - 1];
            return HEIGHT - BOTTOM - (loss - lo) / (hi - lo) * (HEIGHT - TOP - BOTTOM);
        }
    }

    /** Tick values at 1, 2 or 5 times a power of ten, covering [lo, hi] with about six intervals. */
    static double[] ticks(double lo, double hi, boolean integers) {
        double raw = (hi - lo) / 6;
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        double spacing = raw / power <= 1 ? power : raw / power <= 2 ? 2 * power : raw / power <= 5 ? 5 * power
                : 10 * power;
        if (integers) {
            spacing = Math.max(1, Math.ceil(spacing));
        }
        double first = Math.floor(lo / spacing) * spacing, last = Math.ceil(hi / spacing) * spacing;
        int count = (int) Math.round((last - first) / spacing) + 1;
        double[] t = new double[Math.max(count, 2)];
        for (int i = 0; i < t.length; i++) {
            t[i] = first + i * spacing;
        }
        return t;
    }

    private static String label(double value, double spacing) {
        int decimals = (int) Math.max(0, -Math.floor(Math.log10(spacing) + 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    private static void drawAxes(Graphics2D g, Axes a) {
        int x0 = LEFT, x1 = WIDTH - RIGHT, y0 = HEIGHT - BOTTOM, y1 = TOP;
        Color grid = new Color(225, 225, 225);
        g.setStroke(new BasicStroke(1));
        double xSpacing = a.xTicks()[1] - a.xTicks()[0], ySpacing = a.yTicks()[1] - a.yTicks()[0];
        for (double t : a.xTicks()) {
            int x = (int) Math.round(a.x(t));
            g.setColor(grid);
            g.drawLine(x, y0, x, y1);
            g.setColor(Color.BLACK);
            g.drawLine(x, y0, x, y0 + 6);
            String s = label(t, xSpacing);
            PixelFont.draw(g, s, x - PixelFont.width(s, TEXT_SCALE) / 2, y0 + 12, TEXT_SCALE);
        }
        for (double t : a.yTicks()) {
            int y = (int) Math.round(a.y(t));
            g.setColor(grid);
            g.drawLine(x0, y, x1, y);
            g.setColor(Color.BLACK);
            g.drawLine(x0 - 6, y, x0, y);
            String s = label(t, ySpacing);
            PixelFont.draw(g, s, x0 - 12 - PixelFont.width(s, TEXT_SCALE), y - PixelFont.HEIGHT * TEXT_SCALE / 2,
                    TEXT_SCALE);
        }
        g.setColor(Color.BLACK);
        g.drawLine(x0, y0, x1, y0);
        g.drawLine(x0, y0, x0, y1);
        PixelFont.draw(g, "STEP", (x0 + x1 - PixelFont.width("STEP", TEXT_SCALE)) / 2, HEIGHT - 30, TEXT_SCALE);
        PixelFont.draw(g, "LOSS", 12, 16, TEXT_SCALE);
    }

    private static void drawCurve(Graphics2D g, Axes a, List<Point> curve, Color color, boolean markers,
                                  float width) {
        g.setColor(color);
        g.setStroke(new BasicStroke(width));
        Point previous = null;
        for (Point p : curve) {
            if (!Double.isFinite(p.loss())) {
                previous = null;
                continue;
            }
            int x = (int) Math.round(a.x(p.step())), y = (int) Math.round(a.y(p.loss()));
            if (previous != null) {
                g.drawLine((int) Math.round(a.x(previous.step())), (int) Math.round(a.y(previous.loss())), x, y);
            }
            if (markers || curve.size() == 1) {
                int half = (int) (1.5f * width); // 3 for the usual 2-pixel line
                g.fillRect(x - half, y - half, 2 * half + 1, 2 * half + 1);
            }
            previous = p;
        }
    }

    /** The labels in a row at the top right, each after a short line of its colour. */
    private static void drawLegend(Graphics2D g, List<Series> series) {
        int line = 30, gap = 8, spacing = 9, y = 14;
        int total = 0;
        for (Series s : series) {
            total += line + gap + PixelFont.width(s.label(), TEXT_SCALE) + spacing;
        }
        int x = WIDTH - RIGHT - 21 - total;
        g.setStroke(new BasicStroke(3));
        for (Series s : series) {
            g.setColor(s.color());
            g.drawLine(x, y + 7, x + line, y + 7);
            g.setColor(Color.BLACK);
            PixelFont.draw(g, s.label(), x + line + gap, y, TEXT_SCALE);
            x += line + gap + PixelFont.width(s.label(), TEXT_SCALE) + spacing;
        }
    }
}

package org.jtune.train.report;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Console progress: redrawn in place on a terminal, plain log lines elsewhere. */
class ProgressBarTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void lineShowsStepLossRateThroughputAndEta() {
        String line = ProgressBar.line(new TrainingListener.StepProgress(12, 60, 2.34567, 1.6e-4, 1234.4, 83.2));
        assertEquals("12/60 [####----------------]  20% | loss 2.3457 | lr 1.60e-04 | 1234 tok/s | ETA 0:01:23", line);
    }

    @Test
    void terminalRedrawsOneLine() {
        ProgressBar bar = new ProgressBar(out, true);
        bar.onStep(new TrainingListener.StepProgress(1, 2, 3.0, 1e-4, 10, 5));
        bar.onLog(new TrainingListener.TrainLog(1, 0.5, 3.0, 1e-4, 0.7, 16, 10));
        bar.onStep(new TrainingListener.StepProgress(2, 2, 2.5, 2e-4, 10, 0));
        bar.onEnd();
        String s = text();
        assertEquals(2, s.chars().filter(c -> c == '\r').count(), s);
        assertEquals(1, s.chars().filter(c -> c == '\n').count(), s);
        assertTrue(s.endsWith("\n") && s.contains("2/2 [####################] 100%"), s);
    }

    @Test
    void elsewhereOnePlainLinePerLog() {
        ProgressBar bar = new ProgressBar(out, false);
        bar.onStep(new TrainingListener.StepProgress(1, 2, 3.0, 1e-4, 10, 5));
        bar.onLog(new TrainingListener.TrainLog(1, 0.5, 3.0, 1e-4, 0.7, 16, 10));
        bar.onEval(new TrainingListener.EvalLog(1, 0.5, 2.9, 30));
        bar.onEnd();
        String s = text();
        assertFalse(s.contains("\r"), s);
        assertEquals("step 1 | epoch 0.50 | loss 3.0000 | lr 1.000e-04 | grad_norm 0.7000 | 10 tokens/s\n"
                + "eval at step 1 | loss 2.9000 | 30 tokens\n", s.replace(System.lineSeparator(), "\n"));
    }

    @Test
    void furtherMetricsFollowTheLoss() {
        ProgressBar bar = new ProgressBar(out, false);
        bar.onLog(new TrainingListener.TrainLog(2, 1.0, 0.5, 1e-4, 0.7, 16, 10,
                java.util.Map.of("rewards/margins", 1.25)));
        bar.onEval(new TrainingListener.EvalLog(2, 1.0, 0.4, 30, java.util.Map.of("rewards/accuracies", 0.75)));
        assertEquals("step 2 | epoch 1.00 | loss 0.5000 | rewards/margins 1.2500 | lr 1.000e-04 | grad_norm 0.7000 | "
                + "10 tokens/s\neval at step 2 | loss 0.4000 | rewards/accuracies 0.7500 | 30 tokens\n",
                text().replace(System.lineSeparator(), "\n"));
    }

    @Test
    void plotTicksAreRoundNumbersCoveringTheRange() {
        // (3.61 - 0.37) / 6 = 0.54 rounds up to the spacing 1; (2.61 - 0.37) / 6 = 0.37 to 0.5
        double[] t = LossCurvePlot.ticks(0.37, 3.61, false);
        assertArrayEquals(new double[] {0, 1, 2, 3, 4}, t, 1e-12);
        assertArrayEquals(new double[] {0, 0.5, 1, 1.5, 2, 2.5, 3}, LossCurvePlot.ticks(0.37, 2.61, false), 1e-12);
        // 7 / 6 rounds up to 2; integer axes never go below a spacing of 1
        assertArrayEquals(new double[] {0, 2, 4, 6, 8}, LossCurvePlot.ticks(0, 7, true), 0);
        assertArrayEquals(new double[] {0, 1, 2}, LossCurvePlot.ticks(0, 2, true), 0);
    }
}

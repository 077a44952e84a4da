package org.jtune.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fidelity report's statistics on synthetic logs with known differences: a constant relative gap gives that
 * mean and no drift, a gap widening linearly from 0 to g gives mean g/2 and drift g; each verdict flips at its
 * threshold; a run that does not move is INCONCLUSIVE. Losses are fresh random, falling, noisy curves.
 */
class FidelityStatsTest {
    private static final int STEPS = 200;
    private final SplittableRandom random = new SplittableRandom();

    /** A falling noisy loss curve: from about 11 to about 7. */
    private double[] peerCurve() {
        double[] p = new double[STEPS];
        for (int i = 0; i < STEPS; i++) {
            p[i] = 7 + 4 * Math.exp(-i / 50.0) + random.nextDouble(-0.3, 0.3);
        }
        return p;
    }

    /** jtune = peer * (1 ± gap(i)), the sign random per step. */
    private double[] withGap(double[] peer, java.util.function.IntToDoubleFunction gap) {
        double[] j = new double[peer.length];
        for (int i = 0; i < peer.length; i++) {
            j[i] = peer[i] * (1 + (random.nextBoolean() ? 1 : -1) * gap.applyAsDouble(i));
        }
        return j;
    }

    @Test
    void aConstantGapGivesThatMeanAndNoDrift() {
        double[] peer = peerCurve();
        double c = random.nextDouble(0.001, 0.02);
        FidelityStats s = FidelityStats.of(withGap(peer, i -> c), peer, 8, 8);
        assertEquals(c, s.meanRelativeGap(), 1e-12);
        assertEquals(0, s.drift(), 1e-12);
        assertEquals(c, s.firstQuarterGap(), 1e-12);
        assertEquals(c, s.lastQuarterGap(), 1e-12);
        assertEquals(0, s.evalRelativeGap(), 0);
    }

    @Test
    void aLinearlyWideningGapGivesHalfItAsMeanAndAllOfItAsDrift() {
        double[] peer = peerCurve();
        double g = random.nextDouble(0.001, 0.02);
        FidelityStats s = FidelityStats.of(withGap(peer, i -> g * i / (STEPS - 1)), peer, 8, 8);
        assertEquals(g / 2, s.meanRelativeGap(), 1e-12);
        assertEquals(g, s.drift(), 1e-12);
        double firstQuarterMean = g * (STEPS / 4 - 1) / 2.0 / (STEPS - 1);
        assertEquals(firstQuarterMean, s.firstQuarterGap(), 1e-12);
        assertEquals(g - firstQuarterMean, s.lastQuarterGap(), 1e-12);
    }

    @Test
    void theSignedMeanSaysWhichSideIsAbove() {
        double[] peer = peerCurve(), jtune = new double[STEPS];
        for (int i = 0; i < STEPS; i++) {
            jtune[i] = peer[i] * 1.003;
        }
        assertEquals(0.003, FidelityStats.of(jtune, peer, 8, 8).meanSignedGap(), 1e-12);
    }

    @Test
    void eachVerdictFlipsAtItsThreshold() {
        double[] peer = peerCurve();
        assertTrue(FidelityStats.of(withGap(peer, i -> 0.0099), peer, 8, 8).meanPasses());
        FidelityStats wide = FidelityStats.of(withGap(peer, i -> 0.0101), peer, 8, 8);
        assertFalse(wide.meanPasses());
        assertTrue(wide.driftPasses());
        assertEquals("FAIL", wide.verdict());

        FidelityStats slowDrift = FidelityStats.of(withGap(peer, i -> 0.0049 * i / (STEPS - 1)), peer, 8, 8);
        assertTrue(slowDrift.driftPasses());
        assertEquals("PASS", slowDrift.verdict());
        FidelityStats drifting = FidelityStats.of(withGap(peer, i -> 0.0051 * i / (STEPS - 1)), peer, 8, 8);
        assertFalse(drifting.driftPasses());
        assertTrue(drifting.meanPasses(), "a drifting run can have a small mean gap, and still fails");
        assertEquals("FAIL", drifting.verdict());

        double[] same = peer.clone();
        assertTrue(FidelityStats.of(same, peer, 8 * 1.0049, 8).evalPasses());
        FidelityStats evalApart = FidelityStats.of(same, peer, 8 * 1.0051, 8);
        assertFalse(evalApart.evalPasses());
        assertEquals("FAIL", evalApart.verdict());
    }

    @Test
    void aRunThatDoesNotMoveIsInconclusive() {
        double[] flat = new double[STEPS];
        for (int i = 0; i < STEPS; i++) {
            flat[i] = 11.7 + random.nextDouble(-0.05, 0.05);
        }
        FidelityStats s = FidelityStats.of(flat.clone(), flat, 11.7, 11.7);
        assertTrue(s.passes());
        assertFalse(s.conclusive());
        assertEquals("INCONCLUSIVE", s.verdict());
        double[] peer = peerCurve();
        assertTrue(FidelityStats.of(peer.clone(), peer, 8, 8).conclusive());
    }

    @Test
    void badLogsAreRefused() {
        double[] peer = peerCurve();
        assertThrows(IllegalArgumentException.class, () -> FidelityStats.of(new double[STEPS - 1], peer, 8, 8));
        double[] withNaN = peer.clone();
        withNaN[17] = Double.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FidelityStats.of(withNaN, peer, 8, 8));
        assertTrue(e.getMessage().contains("step 18"), e.getMessage());
    }

    @Test
    void theReportReadsBothLogsPrintsTheVerdictAndDrawsBothCurves(@TempDir Path dir) throws Exception {
        double[] peer = peerCurve();
        writeLog(dir.resolve("peer.jsonl"), "peer", peer, 7.5);
        writeLog(dir.resolve(FidelityRun.LOG), "jtune", withGap(peer, i -> 0.002), 7.51);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean passed = FidelityReport.report(dir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(passed, text);
        assertTrue(text.contains("fidelity: PASS"), text);
        assertTrue(text.contains("0.2000%"), "the mean gap: " + text);
        assertEquals(STEPS / 10 + 1, text.lines().filter(l -> l.matches("\\s+\\d+ .*")).count(), text);
        BufferedImage image = ImageIO.read(dir.resolve(FidelityReport.PLOT).toFile());
        int jtunePixels = 0, peerPixels = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                jtunePixels += rgb == (FidelityReport.JTUNE_COLOR.getRGB() & 0xFFFFFF) ? 1 : 0;
                peerPixels += rgb == (FidelityReport.PEER_COLOR.getRGB() & 0xFFFFFF) ? 1 : 0;
            }
        }
        assertTrue(jtunePixels > 500 && peerPixels > 500, jtunePixels + " jtune, " + peerPixels + " peer pixels");

        writeLog(dir.resolve(FidelityRun.LOG), "jtune", withGap(peer, i -> 0.02), 7.51);
        bytes.reset();
        assertFalse(FidelityReport.report(dir, new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("fidelity: FAIL"));
    }

    @Test
    void aLogWithAMissingStepIsRefusedWithItsLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("peer.jsonl");
        Files.write(file, List.of("{\"run\": {}}", "{\"step\": 1, \"loss\": 2.0}", "{\"step\": 3, \"loss\": 2.0}",
                "{\"eval_loss\": 2.0}"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FidelityLog.read(file));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("step 2"), e.getMessage());
    }

    private static void writeLog(Path file, String side, double[] losses, double eval) throws Exception {
        List<String> lines = new ArrayList<>(List.of("{\"run\": {\"side\": \"" + side + "\"}}"));
        for (int i = 0; i < losses.length; i++) {
            lines.add("{\"step\": " + (i + 1) + ", \"loss\": " + losses[i] + ", \"grad_norm\": 0.5, \"lr\": 0.001}");
        }
        lines.add("{\"eval_loss\": " + eval + ", \"eval_tokens\": 100}");
        Files.write(file, lines);
    }
}

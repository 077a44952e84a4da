package org.jtune.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DPO losses at points worked out by hand, far out where naive formulas overflow, and bad settings. */
class DpoLossTest {

    @Test
    void valuesAtHandWorkedPoints() {
        // d = (pc - rc) - (pr - rr) = (-10 + 12) - (-20 + 18) = 4
        DpoLoss sigmoid = new DpoLoss(DpoLossType.SIGMOID, 0.5, 0);
        DpoLoss.PairLoss p = sigmoid.pair(-10, -20, -12, -18, 5, 8);
        double s = 1 / (1 + Math.exp(-2)); // σ(β·d), β·d = 2
        assertEquals(-Math.log(s), p.loss(), 1e-15);
        assertEquals(-0.5 * (1 - s), p.dChosen(), 1e-15);
        assertEquals(0.5 * (1 - s), p.dRejected(), 1e-15);

        DpoLoss smoothed = new DpoLoss(DpoLossType.SIGMOID, 0.5, 0.25);
        assertEquals(-0.75 * Math.log(s) - 0.25 * Math.log(1 - s), smoothed.pair(-10, -20, -12, -18, 5, 8).loss(),
                1e-15);

        DpoLoss hinge = new DpoLoss(DpoLossType.HINGE, 0.1, 0);
        assertEquals(0.6, hinge.pair(-10, -20, -12, -18, 5, 8).loss(), 1e-15);
        assertEquals(-0.1, hinge.pair(-10, -20, -12, -18, 5, 8).dChosen(), 0);
        assertEquals(0, hinge.pair(0, -20, 0, 0, 5, 8).dChosen(), 0, "beyond the hinge nothing moves");

        // ipo: 2/5 - (-2)/8 - 1/(2·0.1) = 0.4 + 0.25 - 5 = -4.35
        DpoLoss ipo = new DpoLoss(DpoLossType.IPO, 0.1, 0);
        DpoLoss.PairLoss q = ipo.pair(-10, -20, -12, -18, 5, 8);
        assertEquals(4.35 * 4.35, q.loss(), 1e-12);
        assertEquals(2 * -4.35 / 5, q.dChosen(), 1e-12);
        assertEquals(-2 * -4.35 / 8, q.dRejected(), 1e-12);
        assertEquals(0.5 * (-10 + 12), sigmoid.reward(-10, -12), 0);
    }

    @Test
    void farOutStaysFinite() {
        DpoLoss sigmoid = new DpoLoss(DpoLossType.SIGMOID, 1, 0.1);
        DpoLoss.PairLoss wrong = sigmoid.pair(-5000, 0, 0, 0, 1, 1); // β·d = -5000
        assertEquals(0.9 * 5000, wrong.loss(), 1e-9);
        assertEquals(-0.9, wrong.dChosen(), 1e-12);
        DpoLoss.PairLoss right = sigmoid.pair(5000, 0, 0, 0, 1, 1);
        assertEquals(0.1 * 5000, right.loss(), 1e-9);
        assertEquals(0.1, right.dChosen(), 1e-12);
    }

    @Test
    void badSettingsAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DpoArguments.defaults().withBeta(0))
                .getMessage().contains("beta"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> DpoArguments.defaults().withLossType(DpoLossType.IPO).withLabelSmoothing(0.1))
                .getMessage().contains("sigmoid"));
        assertThrows(IllegalArgumentException.class, () -> DpoArguments.defaults().withLabelSmoothing(0.5));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DpoLossType.fromName("robust"))
                .getMessage().contains("sigmoid, ipo, hinge"));
        assertEquals(DpoLossType.IPO, DpoLossType.fromName("ipo"));
    }
}

package org.jtune.train;

import java.util.Locale;

/** The DPO losses, by TRL's {@code loss_type} names. */
public enum DpoLossType {
    /** The DPO paper's Bradley-Terry loss {@code -log σ(β·Δ)}; with label smoothing, conservative DPO. */
    SIGMOID,
    /** IPO: {@code (Δ/length - 1/(2β))²} with the log-ratios averaged per completion token. */
    IPO,
    /** RSO's hinge loss {@code max(0, 1 - β·Δ)}. */
    HINGE;

    /** TRL's name: {@code sigmoid}, {@code ipo} or {@code hinge}. */
    public String trlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DpoLossType fromName(String name) {
        for (DpoLossType t : values()) {
            if (t.trlName().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown DPO loss_type '" + name + "': supported are sigmoid, ipo, hinge");
    }
}

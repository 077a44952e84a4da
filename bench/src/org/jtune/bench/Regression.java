package org.jtune.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares a run with the last recorded result of each benchmark on the same GPU and names every measurement
 * that got worse by more than the allowed fraction (slower, or more memory: the record says which way is better).
 */
final class Regression {
    private Regression() {}

    /** The last record of each name measured on {@code gpu}, in file order. */
    static Map<String, BenchRecord> lastOnGpu(List<BenchRecord> recorded, String gpu) {
        Map<String, BenchRecord> last = new LinkedHashMap<>();
        for (BenchRecord r : recorded) {
            if (r.gpu().equals(gpu)) {
                last.put(r.name(), r);
            }
        }
        return last;
    }

    /**
     * One line per measurement of {@code run} worse than its baseline by more than {@code allowed} (0.05 = 5%);
     * empty when none is. Measurements without a baseline are not judged.
     */
    static List<String> worse(List<BenchRecord> run, Map<String, BenchRecord> baseline, double allowed) {
        List<String> lines = new ArrayList<>();
        for (BenchRecord now : run) {
            BenchRecord before = baseline.get(now.name());
            if (before == null) {
                continue;
            }
            // The fraction lost (throughput) or added (time, memory); NaN, a broken measurement, fails too.
            double worse = now.higherIsBetter() ? 1 - now.value() / before.value() : now.value() / before.value() - 1;
            if (!(worse <= allowed)) {
                lines.add(String.format("%s: %.3f %s, was %.3f at commit %s on %s (%.1f%% worse, %.0f%% allowed)",
                        now.name(), now.value(), now.unit(), before.value(), before.commit(), before.date(),
                        worse * 100, allowed * 100));
            }
        }
        return lines;
    }
}

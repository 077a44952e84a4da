package org.jtune.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The regression check of benchmark runs against recorded results. */
class RegressionTest {
    private static BenchRecord record(String name, double value, boolean higherIsBetter, String gpu, String commit) {
        return new BenchRecord(name, value, "u", null, null, higherIsBetter, gpu, commit, "2026-12-01", "cmd");
    }

    @Test
    void theLastRecordOfEachNameOnTheSameGpuIsTheBaseline() {
        List<BenchRecord> recorded = List.of(record("a", 100, true, "H200", "c1"), record("a", 120, true, "H200", "c2"),
                record("a", 999, true, "A100", "c3"), record("b", 5, false, "H200", "c1"));
        Map<String, BenchRecord> last = Regression.lastOnGpu(recorded, "H200");
        assertEquals(120, last.get("a").value(), "a: later record on the same GPU wins, other GPUs ignored");
        assertEquals(5, last.get("b").value());
        assertEquals(2, last.size());
    }

    @Test
    void onlyMeasurementsWorseByMoreThanTheAllowanceFail() {
        Map<String, BenchRecord> baseline = Map.of("tps", record("tps", 1000, true, "H200", "c1"),
                "gib", record("gib", 10, false, "H200", "c1"));
        assertTrue(Regression.worse(List.of(record("tps", 951, true, "H200", "now"),
                record("gib", 10.49, false, "H200", "now"), record("new", 1, true, "H200", "now")), baseline, 0.05)
                .isEmpty(), "within 5%, or without a baseline");
        List<String> slower = Regression.worse(List.of(record("tps", 940, true, "H200", "now")), baseline, 0.05);
        assertEquals(1, slower.size());
        assertTrue(slower.get(0).startsWith("tps: 940.000 u, was 1000.000 at commit c1 on 2026-12-01 (6.0% worse"),
                slower.get(0));
        assertEquals(1, Regression.worse(List.of(record("gib", 10.6, false, "H200", "now")), baseline, 0.05).size(),
                "6% more memory");
        assertEquals(1, Regression.worse(List.of(record("tps", Double.NaN, true, "H200", "now")), baseline, 0.05)
                .size(), "a NaN measurement");
    }
}

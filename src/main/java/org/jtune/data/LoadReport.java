package org.jtune.data;

import java.util.List;

/**
 * What loading a dataset did: records read, used, skipped as bad (with the first few reasons),
 * cut to the maximum length, and dropped because truncation left nothing to train on.
 */
public record LoadReport(RecordFormat format, long records, long used, long skipped, long truncated, long dropped,
                         List<String> firstProblems) {
    public LoadReport {
        firstProblems = List.copyOf(firstProblems);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        s.append(records).append(" records (").append(format).append("): ").append(used).append(" used, ")
                .append(skipped).append(" skipped as bad, ").append(truncated).append(" truncated, ")
                .append(dropped).append(" dropped (nothing to train on after truncation)");
        for (String p : firstProblems) {
            s.append("\n  ").append(p);
        }
        if (skipped > firstProblems.size()) {
            s.append("\n  ... and ").append(skipped - firstProblems.size()).append(" more");
        }
        return s.toString();
    }
}

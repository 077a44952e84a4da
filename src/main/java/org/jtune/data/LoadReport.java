package org.jtune.data;

import java.util.ArrayList;
import java.util.List;

/**
 * What loading a dataset did: records read, used, skipped as bad (with the first few reasons),
 * cut to the maximum length, and dropped because truncation left nothing to train on; and notes on what was
 * used as it is but deserves a word (e.g. pairs whose prompt merges with the completion).
 */
public record LoadReport(RecordFormat format, long records, long used, long skipped, long truncated, long dropped,
                         List<String> firstProblems, List<String> notes) {
    public LoadReport {
        firstProblems = List.copyOf(firstProblems);
        notes = List.copyOf(notes);
    }

    public LoadReport(RecordFormat format, long records, long used, long skipped, long truncated, long dropped,
                      List<String> firstProblems) {
        this(format, records, used, skipped, truncated, dropped, firstProblems, List.of());
    }

    /** The same report with one more note. */
    public LoadReport withNote(String note) {
        List<String> all = new ArrayList<>(notes);
        all.add(note);
        return new LoadReport(format, records, used, skipped, truncated, dropped, firstProblems, all);
    }

    /** {@code 120 records (messages): 118 used, 2 skipped as bad}; parts that are zero are left out. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        s.append(count(records, "record")).append(" (").append(format).append(")");
        if (used == records && skipped == 0 && truncated == 0 && dropped == 0) {
            s.append(records == 1 ? ", used" : ", all used");
        } else {
            s.append(": ").append(used).append(" used");
            if (skipped > 0) {
                s.append(", ").append(skipped).append(" skipped as bad");
            }
            if (truncated > 0) {
                s.append(", ").append(truncated).append(" truncated");
            }
            if (dropped > 0) {
                s.append(", ").append(dropped).append(" dropped (nothing to train on after truncation)");
            }
        }
        for (String p : firstProblems) {
            s.append("\n  ").append(p);
        }
        if (skipped > firstProblems.size()) {
            s.append("\n  ... and ").append(skipped - firstProblems.size()).append(" more");
        }
        for (String n : notes) {
            s.append("\n  ").append(n);
        }
        return s.toString();
    }

    /** {@code 1 record}, {@code 2 records}. */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}

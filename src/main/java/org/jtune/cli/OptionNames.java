package org.jtune.cli;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The names users bring from other tools, for the options of jtune's commands: TRL's and transformers' argument
 * names ({@code learning_rate}, {@code num_train_epochs}, ...), and Axolotl's config keys where they mean the same
 * thing. Names are compared with dashes for underscores, so {@code --learning_rate} and {@code --learning-rate} are
 * one option. A command that has an option of a name below accepts its aliases too.
 */
final class OptionNames {
    /** jtune's option name to the other names it answers to. */
    static final Map<String, List<String>> ALIASES = Map.ofEntries(
            Map.entry("model", List.of("model-name-or-path", "base-model")),
            Map.entry("data", List.of("dataset-name", "datasets")),
            Map.entry("output", List.of("output-dir")),
            Map.entry("lr", List.of("learning-rate")),
            Map.entry("epochs", List.of("num-train-epochs", "num-epochs")),
            Map.entry("batch-size", List.of("per-device-train-batch-size", "micro-batch-size")),
            Map.entry("grad-accum", List.of("gradient-accumulation-steps")),
            Map.entry("gpus", List.of("num-processes", "nproc-per-node")),
            Map.entry("max-seq-length", List.of("max-length", "sequence-len")),
            Map.entry("scheduler", List.of("lr-scheduler-type", "lr-scheduler")),
            Map.entry("target-modules", List.of("lora-target-modules")),
            Map.entry("rslora", List.of("use-rslora")),
            Map.entry("loss", List.of("loss-type")));

    private OptionNames() {}

    /** How names are compared: dashes for underscores, lower case. */
    static String normalize(String name) {
        return name.strip().replace('_', '-').toLowerCase(Locale.ROOT);
    }

    static List<String> aliasesOf(String name) {
        return ALIASES.getOrDefault(name, List.of());
    }

    /** The known name closest to {@code unknown}, where one is close enough to be a slip; else null. */
    static String closest(String unknown, Collection<String> known) {
        String u = normalize(unknown);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(u, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        if (best == null) {
            return null;
        }
        boolean slip = bestDistance <= Math.max(2, u.length() / 4);
        boolean part = u.length() >= 4 && (best.startsWith(u) || best.endsWith(u) || u.startsWith(best));
        return slip || part ? best : null;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}

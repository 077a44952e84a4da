package org.jtune.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Refuses a checkpoint holding tensors its config.json does not use: layers beyond
 * {@code num_hidden_layers}, biases the config switches off, anything unknown. Training on part of a
 * checkpoint without a word would give an adapter for a model that does not exist.
 */
final class UnusedTensors {
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\..*");
    /** Buffers older transformers versions saved with the weights; they are recomputed, never read. */
    private static final Pattern HARMLESS = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    private UnusedTensors() {}

    static void refuse(ModelConfig config, WeightSource source, Set<String> used, Path configFile) {
        Set<String> unused = new TreeSet<>();
        int highestLayer = -1;
        for (String name : source.names()) {
            if (used.contains(name) || HARMLESS.matcher(name).matches()
                    || (config.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                continue;
            }
            unused.add(name);
            Matcher m = LAYER.matcher(name);
            if (m.matches() && m.group(1).length() < 9) {
                highestLayer = Math.max(highestLayer, Integer.parseInt(m.group(1)));
            }
        }
        if (unused.isEmpty()) {
            return;
        }
        List<String> shown = new ArrayList<>(unused).subList(0, Math.min(5, unused.size()));
        String more = unused.size() > shown.size() ? " and " + (unused.size() - shown.size()) + " more" : "";
        String layers = highestLayer >= config.numLayers() ? "; it has layers up to " + highestLayer
                + " but num_hidden_layers is " + config.numLayers() : "";
        throw new ModelConfigException(source.description() + ": the checkpoint holds " + unused.size()
                + " tensor" + (unused.size() == 1 ? "" : "s") + " that " + configFile + " does not use ("
                + String.join(", ", shown) + more + ")" + layers
                + "; the config does not describe these weights");
    }
}

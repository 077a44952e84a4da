package org.jtune.layers;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The layers of the library (README's architecture section) as a table, and the check of one source file's
 * references to other packages against it: a package may use packages of lower rows only, never a peer of its own
 * row, and the pairs in {@link #SEAM} never, whatever their rows. A package belongs to the layer whose name is its
 * longest prefix ({@code data.parquet} to {@code data}); one that no layer names is reported, so that a new package
 * is placed on purpose. To place one, add it to a row (or a new row) of {@link #ROWS}.
 */
final class LayerRules {
    /** Top to bottom; the layers of one row are peers, which must not use each other. */
    static final List<List<String>> ROWS = List.of(
            List.of("ptxgen"),                     // the PTX template generator: a build tool nothing uses
            List.of("launch"),                     // the jar's entry point: a Java version check (Java 8 bytecode)
            List.of("cli"),                        // java -jar commands
            List.of("serve"),                      // the HTTP server over the facade
            List.of("api"),                        // the facade: FastLanguageModel, SftTrainer, DpoTrainer
            List.of("train", "generate", "export"), // the trainer; text generation; GGUF export
            List.of("train.report"),               // listeners, metrics file, progress, loss plot
            List.of("data"),                       // datasets (data.derive, data.parquet, ...)
            List.of("tokenizer"),                  // BPE, chat templates
            List.of("model.backend"),              // where engines run, chosen once
            List.of("model.cpu", "model.gpu"),     // the two engines
            List.of("model"),                      // config, weights, LoRA, the engine interfaces
            List.of("parallel"),                   // communicators between the workers of a data-parallel run
            List.of("kernels"),                    // PTX kernel launchers
            List.of("quant"),                      // NF4, bnb, GGUF block formats (quant.gguf)
            List.of("io"),                         // safetensors, PEFT files, Hub cache (io.hub)
            List.of("tensor"),                     // off-heap tensors
            List.of("cuda"),                       // the driver layer
            List.of("bindings"));                  // jextract output

    /**
     * Uses forbidden whatever the rows say: nothing that trains, serves or reads data touches the GPU's own code
     * (the engine seam), the trainer and the data see neither engine but through the interface, and neither the
     * engine interfaces nor the CPU engine depend on CUDA.
     */
    static final Map<String, Set<String>> SEAM = Map.of(
            "serve", Set.of("cuda", "kernels", "model.gpu"),
            "api", Set.of("cuda", "kernels", "model.gpu"),
            "train", Set.of("cuda", "kernels", "model.gpu", "model.cpu"),
            "generate", Set.of("cuda", "kernels", "model.gpu"),
            "export", Set.of("cuda", "kernels", "model.gpu"),
            "train.report", Set.of("cuda", "kernels", "model.gpu", "model.cpu"),
            "data", Set.of("cuda", "kernels", "model.gpu", "model.cpu"),
            "tokenizer", Set.of("cuda", "kernels", "model.gpu", "model.cpu"),
            "model.cpu", Set.of("cuda", "kernels"),
            "model", Set.of("cuda", "kernels"));

    private static final String ROOT = "org.jtune.";
    private static final Pattern PACKAGE = Pattern.compile("(?m)^\\s*package\\s+([\\w.]+)\\s*;");
    /** A use of a class of another package: an import (static or not) or a fully qualified name in code. */
    private static final Pattern REFERENCE = Pattern.compile("\\borg\\.jtune\\.((?:[a-z]\\w*\\.)*?[a-z]\\w*)\\.[A-Z]");
    private static final Pattern COMMENT_OR_STRING =
            Pattern.compile("//[^\\n]*|/\\*.*?\\*/|\"\"\".*?\"\"\"|\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])'",
                    Pattern.DOTALL);

    private LayerRules() {}

    /** The layer of a package below {@code org.jtune} (e.g. "model.cpu"), or null if no layer names it. */
    static String layerOf(String pkg) {
        String best = null;
        for (List<String> row : ROWS) {
            for (String layer : row) {
                if ((pkg.equals(layer) || pkg.startsWith(layer + "."))
                        && (best == null || layer.length() > best.length())) {
                    best = layer;
                }
            }
        }
        return best;
    }

    private static int rowOf(String layer) {
        for (int r = 0; r < ROWS.size(); r++) {
            if (ROWS.get(r).contains(layer)) {
                return r;
            }
        }
        throw new IllegalArgumentException("no row holds layer " + layer);
    }

    /** What is wrong with one source file's uses of other packages; empty if nothing. */
    static List<String> violations(String file, String source) {
        List<String> found = new ArrayList<>();
        Matcher p = PACKAGE.matcher(source);
        if (!p.find() || !p.group(1).startsWith(ROOT)) {
            found.add(file + ": no package below org.jtune");
            return found;
        }
        String from = p.group(1).substring(ROOT.length());
        String fromLayer = layerOf(from);
        if (fromLayer == null) {
            found.add(file + ": package " + from + " is in no layer: add it to LayerRules.ROWS");
            return found;
        }
        String code = COMMENT_OR_STRING.matcher(source).replaceAll(" ");
        code = PACKAGE.matcher(code).replaceFirst(" ");
        Matcher m = REFERENCE.matcher(code);
        while (m.find()) {
            String to = m.group(1);
            String toLayer = layerOf(to);
            String use = file + ": " + from + " uses " + to;
            if (toLayer == null) {
                found.add(use + ", which is in no layer: add it to LayerRules.ROWS");
            } else if (SEAM.getOrDefault(fromLayer, Set.of()).contains(toLayer)) {
                found.add(use + ": " + fromLayer + " must not use " + toLayer + " (the engine seam)");
            } else if (!toLayer.equals(fromLayer) && rowOf(toLayer) <= rowOf(fromLayer)) {
                found.add(use + ": " + toLayer + (rowOf(toLayer) == rowOf(fromLayer) ? " is a peer of "
                        : " is above ") + fromLayer);
            }
        }
        return found;
    }
}

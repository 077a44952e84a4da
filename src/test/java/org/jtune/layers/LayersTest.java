package org.jtune.layers;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every main source file against {@link LayerRules}: no use of a package above or beside its own layer, none across
 * the engine seam, and no package left out of the table. Reads the sources, so it runs where they are (a build),
 * not from the self-contained image.
 */
class LayersTest {
    /** The source roots whose packages make up the library (tests and benchmarks may use any layer). */
    private static final List<Path> ROOTS = List.of(Path.of("src/main/java"), Path.of("src/ptxgen/java"),
            Path.of("bindings/src"));

    @Test
    void noSourceUsesALayerAboveItsOwnOrAcrossTheEngineSeam() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(ROOTS.get(0)), "the sources are not here (run from the image)");
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (Path root : ROOTS) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path file : walk.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                    files++;
                    violations.addAll(LayerRules.violations(file.toString(), Files.readString(file)));
                }
            }
        }
        assertTrue(files > 100, "only " + files + " source files found under " + ROOTS);
        assertEquals(List.of(), violations, violations.size() + " uses break the layers");
    }

    @Test
    void reportsAUseThatRunsUp() {
        assertEquals(1, LayerRules.violations("Up.java", """
                package org.jtune.model;
                import org.jtune.train.Trainer;
                class Up {}
                """).size());
    }

    @Test
    void reportsAFullyQualifiedUseAcrossTheSeamButNotOneInACommentOrString() {
        List<String> found = LayerRules.violations("Seam.java", """
                package org.jtune.train;
                // org.jtune.cuda.Context in a comment is no use
                class Seam {
                    String s = "org.jtune.kernels.GemmKernels";
                    Object c = org.jtune.cuda.Context.class;
                }
                """);
        assertEquals(1, found.size(), found.toString());
        assertTrue(found.get(0).contains("engine seam"), found.get(0));
    }

    @Test
    void reportsPeersAndUnplacedPackages() {
        assertEquals(1, LayerRules.violations("Peer.java", """
                package org.jtune.model.cpu;
                import org.jtune.model.gpu.GpuEngine;
                class Peer {}
                """).size());
        List<String> found = LayerRules.violations("New.java", """
                package org.jtune.brandnew;
                class New {}
                """);
        assertTrue(found.size() == 1 && found.get(0).contains("in no layer"), found.toString());
    }

    @Test
    void allowsUsesDownwardAndWithinALayer() {
        assertEquals(List.of(), LayerRules.violations("Down.java", """
                package org.jtune.data.parquet;
                import org.jtune.data.SftDataset;
                import org.jtune.tokenizer.Tokenizer;
                import org.jtune.model.Batch;
                import static org.jtune.io.SafetensorsFile.open;
                class Down {}
                """));
    }

    @Test
    void placesSubpackagesByTheirLongestPrefix() {
        assertEquals("model.cpu", LayerRules.layerOf("model.cpu"));
        assertEquals("model", LayerRules.layerOf("model"));
        assertEquals("io", LayerRules.layerOf("io.hub"));
        assertEquals("quant", LayerRules.layerOf("quant.gguf"));
        assertEquals("train.report", LayerRules.layerOf("train.report"));
        assertEquals(null, LayerRules.layerOf("modelx"));
    }
}

package org.jtune.data.derive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The derivation: gloss parsing, and the committed files are exactly what it writes from WordNet. */
class DefinitionDatasetsTest {
    private static final Path WORDNET = Path.of("/usr/share/wordnet");

    @TempDir
    Path dir;

    @Test
    void definitionIsTheGlossBeforeItsExamples() {
        assertEquals("a domestic animal", DefinitionDatasets.definition("a domestic animal; \"the dog barked\"; \"a cat\""));
        assertEquals("move fast; run", DefinitionDatasets.definition("move fast; run"));
        assertEquals("", DefinitionDatasets.definition("\"only an example\""));
    }

    @Test
    void regeneratingGivesTheCommittedFilesByteForByte() throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(WORDNET.resolve("index.noun")),
                "skipped: WordNet is not installed at " + WORDNET + " (Debian package wordnet-base)");
        DefinitionDatasets.main(new String[] {WORDNET.toString(), dir.toString()});
        for (String name : new String[] {DefinitionDatasets.SFT_FILE, DefinitionDatasets.DPO_FILE}) {
            try (InputStream committed = DefinitionDatasets.class.getResourceAsStream("/org/jtune/data/demo/" + name)) {
                assertArrayEquals(committed.readAllBytes(), Files.readAllBytes(dir.resolve(name)), name);
            }
        }
    }
}

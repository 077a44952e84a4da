package org.jtune.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The small datasets shipped in the jar for examples and the demo, derived from WordNet 3.0 by
 * {@code org.jtune.data.derive.DefinitionDatasets} (license in LICENSE-WordNet.txt beside them):
 * 3000 "define the word" conversations (messages) and 2000 prompt/chosen/rejected string records.
 */
public enum DemoDatasets {
    DEFINITIONS_SFT("definitions-sft.jsonl.gz"),
    DEFINITIONS_DPO("definitions-dpo.jsonl.gz");

    private final String resource;

    DemoDatasets(String resource) {
        this.resource = resource;
    }

    public String fileName() {
        return resource;
    }

    /** Copies the dataset and its license note into {@code dir} (readers take files); returns the dataset file. */
    public Path copyTo(Path dir) {
        try {
            Files.createDirectories(dir);
            copy("LICENSE-WordNet.txt", dir);
            return copy(resource, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy demo dataset " + resource + " to " + dir, e);
        }
    }

    private static Path copy(String name, Path dir) throws IOException {
        try (InputStream in = DemoDatasets.class.getResourceAsStream("demo/" + name)) {
            if (in == null) {
                throw new IllegalStateException("demo resource missing from the jar: org/jtune/data/demo/" + name);
            }
            Path target = dir.resolve(name);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            return target;
        }
    }
}

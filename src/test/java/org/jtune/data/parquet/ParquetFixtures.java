package org.jtune.data.parquet;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The parquet fixtures written by src/test/scripts/make-parquet-fixtures.mjs, and their JSON Lines twins. */
public final class ParquetFixtures {
    private ParquetFixtures() {}

    /** Copies a fixture out of the test resources into {@code dir}. */
    public static Path copy(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        try (InputStream in = ParquetFixtures.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + name);
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }
}

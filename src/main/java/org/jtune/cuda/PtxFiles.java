package org.jtune.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the text of a PTX file comes from: the jar ({@code src/main/ptx}), or, for a file present in the folder
 * named by the system property {@value #OVERRIDE_PROPERTY}, that folder. The override lets a kernel variant
 * written by the PTX generator run the unchanged launchers and tests; files it does not hold come from the jar.
 */
public final class PtxFiles {
    /** System property: a folder of {@code <name>.ptx} files that replace the packaged ones. */
    public static final String OVERRIDE_PROPERTY = "jtune.ptx.dir";
    /** Where PTX files are packaged in the jar (from {@code src/main/ptx}). */
    public static final String RESOURCE_FOLDER = "org/jtune/ptx/";
    private static final System.Logger LOG = System.getLogger(PtxFiles.class.getName());

    /** A PTX text and where it was read (a path or a class-path resource), for messages. */
    public record Text(String origin, String ptx) {
    }

    private PtxFiles() {
    }

    /** The text of {@code <name>.ptx}: from the override folder when it has the file, else from the jar. */
    public static Text read(String name) {
        String file = name + ".ptx";
        String folder = System.getProperty(OVERRIDE_PROPERTY);
        if (folder != null && !folder.isBlank()) {
            Path dir = Path.of(folder);
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException(OVERRIDE_PROPERTY + "=" + folder + " is not a folder");
            }
            Path override = dir.resolve(file);
            if (Files.isRegularFile(override)) {
                try {
                    String ptx = Files.readString(override, StandardCharsets.UTF_8);
                    LOG.log(System.Logger.Level.INFO, "PTX " + name + " from " + override + " (" + OVERRIDE_PROPERTY
                            + ") instead of the packaged file");
                    return new Text(override.toString(), ptx);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + override, e);
                }
            }
        }
        String resource = RESOURCE_FOLDER + file;
        try (InputStream in = PtxFiles.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no PTX file " + resource + " on the class path");
            }
            return new Text(file, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}

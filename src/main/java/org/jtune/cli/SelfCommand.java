package org.jtune.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How to run jtune again from where the user is, for the commands a run prints (e.g. the merge that follows
 * training): the image's launcher where it started this process, else {@code java -jar} with the jar's path as
 * seen from the current folder ({@code java -jar target/jtune.jar} after a build).
 */
final class SelfCommand {
    /** Set by the image's launcher to its own path. */
    static final String LAUNCHER_PROPERTY = "jtune.launcher";

    private SelfCommand() {}

    static String get() {
        String launcher = System.getProperty(LAUNCHER_PROPERTY);
        if (launcher != null && !launcher.isBlank()) {
            return relative(Path.of(launcher));
        }
        try {
            Path code = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(code) && code.toString().endsWith(".jar")) {
                return "java -jar " + relative(code);
            }
        } catch (URISyntaxException | SecurityException | NullPointerException | IllegalArgumentException e) {
            // not from a jar file: fall through
        }
        return "java -jar jtune.jar";
    }

    /** The path from the current folder, where it is below it; else absolute. */
    private static String relative(Path p) {
        Path here = Path.of("").toAbsolutePath();
        Path abs = p.toAbsolutePath().normalize();
        return abs.startsWith(here) ? here.relativize(abs).toString() : abs.toString();
    }
}

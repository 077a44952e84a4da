package org.jtune.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks on an output folder made before any work, so that a run neither fails at its end nor destroys an input. */
final class OutputFolders {
    private OutputFolders() {}

    /** The folder exists as a writable folder, or can be created: its nearest existing parent is one. */
    static void requireUsable(Path output, String option) {
        Path p = output.toAbsolutePath().normalize();
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new UsageException(option + " " + output + " exists and is not a folder");
        }
        Path existing = p;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        if (!Files.isDirectory(existing)) {
            throw new UsageException(option + " " + output + " cannot be created: " + existing + " is not a folder");
        }
        if (!Files.isWritable(existing)) {
            throw new UsageException(option + " " + output + " cannot be written: " + existing
                    + " is not writable (permission denied)");
        }
    }

    /** Refuses an output folder that is {@code input} or lies inside it: writing there would change the input. */
    static void refuseInside(Path output, Path input, String option, String what) throws IOException {
        if (!Files.isDirectory(input)) {
            return;
        }
        Path in = input.toRealPath();
        if (realPath(output).startsWith(in)) {
            throw new UsageException(option + " " + output + " is " + (realPath(output).equals(in) ? "" : "inside ")
                    + "the " + what + " " + input + ": writing there would overwrite it; give another folder");
        }
    }

    /** The real path of a folder that may not exist yet: its nearest existing parent resolved, the rest appended. */
    private static Path realPath(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        return existing.toRealPath().resolve(existing.relativize(abs));
    }
}

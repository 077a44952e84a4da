package org.jtune.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file under a temporary name in the same folder, then renames it over the target, so that an
 * interrupted write never leaves a half-written file under the real name.
 */
public final class AtomicFiles {
    /** Writes the whole content of a file to an open channel. */
    @FunctionalInterface
    interface ContentWriter {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFiles() {}

    /** Writes {@code target} through {@code content}; on failure the target is untouched. */
    static void write(Path target, ContentWriter content) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path folder = absolute.getParent();
        Files.createDirectories(folder);
        Path temporary = temporaryFile(folder, absolute.getFileName().toString());
        try {
            // a temporary file is private (rw-------); the file it becomes is read by others as any written file is
            if (Files.getFileStore(temporary).supportsFileAttributeView("posix")) {
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(channel);
                channel.force(true); // the data must be on disk before the name points at it
            }
            moveIntoPlace(temporary, absolute);
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            // Name the file: a full disk or a lost permission otherwise shows as a bare system message.
            throw new IOException("cannot write " + absolute + ": " + IoErrors.reason(e), e);
        } catch (RuntimeException | Error e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /**
     * A new empty file in {@code folder} to write {@code name} under before renaming it, readable by all
     * ({@code rw-r--r--}, as files written by other tools are): {@code createTempFile} alone makes it private to its
     * owner, and trained adapters are shared.
     */
    public static Path temporaryFile(Path folder, String name) throws IOException {
        Path temporary = Files.createTempFile(folder, "." + name + ".", ".tmp");
        if (temporary.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(temporary, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
        return temporary;
    }

    /** Writes {@code bytes} as the whole content of {@code target}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, channel -> {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        });
    }

    /** Names of the temporary files {@link #write} makes: "." + the target's name + "." + digits + ".tmp". */
    private static final java.util.regex.Pattern TEMPORARY = java.util.regex.Pattern.compile("\\..+\\.\\d+\\.tmp");

    /**
     * Deletes the temporary files a killed writer left in {@code folder} (a kill between creating and
     * renaming one leaves it behind); the folder's other files are not touched.
     */
    public static void deleteLeftovers(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return;
        }
        try (var entries = Files.list(folder)) {
            for (Path p : entries.toList()) {
                if (TEMPORARY.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void moveIntoPlace(Path temporary, Path target) throws IOException {
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

package org.jtune.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/** The system's reason for an I/O error in words, for messages that name the file and say why. */
public final class IoErrors {
    private IoErrors() {}

    /** Why {@code e} happened: the system's reason, or what the exception type means where it has none. */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof NotDirectoryException) {
            return "not a folder";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof EOFException) {
            return "the file ends early (truncated or cut off)" + (e.getMessage() == null ? "" : ": " + e.getMessage());
        }
        if (e instanceof CharacterCodingException) {
            return "not valid UTF-8 text (a file in another encoding, such as UTF-16?)";
        }
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase();
        }
        return m;
    }

    /**
     * Refuses what is not a regular file before it is opened: reading a FIFO blocks until someone
     * writes to it, and a device such as /dev/zero never ends.
     */
    public static void requireRegularFile(Path file, String what) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, what + " not found");
        }
        if (!Files.isRegularFile(file)) {
            throw new FileSystemException(file.toString(), null, Files.isDirectory(file) ? "is a folder, not a "
                    + what : "is not a regular file (a FIFO or device), so it cannot be read as a " + what);
        }
    }
}

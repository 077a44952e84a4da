package org.jtune.io;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file, index or adapter folder that does not follow its format; the message names the file. */
public final class SafetensorsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /** An error in {@code file}; {@code detail} says what is wrong and, where it applies, with which tensor. */
    public SafetensorsFormatException(Path file, String detail) {
        super(file + ": " + detail);
    }

    /** As {@link #SafetensorsFormatException(Path, String)}, keeping the underlying cause. */
    public SafetensorsFormatException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
    }
}

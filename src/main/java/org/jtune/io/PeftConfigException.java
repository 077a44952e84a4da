package org.jtune.io;

import java.io.IOException;
import java.nio.file.Path;

/** An adapter configuration or adapter folder that is malformed or asks for an unsupported feature. */
public final class PeftConfigException extends IOException {
    private static final long serialVersionUID = 1L;

    /** An error in {@code file}; {@code detail} says what is wrong. */
    public PeftConfigException(Path file, String detail) {
        super(file + ": " + detail);
    }

    /** As {@link #PeftConfigException(Path, String)}, keeping the underlying cause. */
    public PeftConfigException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
    }
}

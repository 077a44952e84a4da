package org.jtune.model;

/** A model configuration that cannot be used: unsupported architecture, missing or invalid field. */
public class ModelConfigException extends IllegalArgumentException {
    public ModelConfigException(String message) {
        super(message);
    }

    public ModelConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.jtune.data;

/** A dataset that cannot be read or used: malformed file, bad record, inconsistent options. Says where. */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}

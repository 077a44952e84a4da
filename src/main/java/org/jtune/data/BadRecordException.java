package org.jtune.data;

/**
 * One record that cannot be used (invalid JSON on its line, missing or mistyped field, empty
 * completion, unknown role). Reading can go on past it, so loaders may skip it when asked.
 */
public final class BadRecordException extends DatasetException {
    private final RecordLocation location;
    private final String reason;

    public BadRecordException(RecordLocation location, String reason) {
        super(location + ": " + reason);
        this.location = location;
        this.reason = reason;
    }

    public RecordLocation location() {
        return location;
    }

    /** What is wrong, without the location. */
    public String reason() {
        return reason;
    }
}

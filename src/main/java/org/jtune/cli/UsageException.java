package org.jtune.cli;

/** A command line (or config file) that cannot be used as given: an unknown option, a missing or bad value. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}

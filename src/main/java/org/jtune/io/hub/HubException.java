package org.jtune.io.hub;

import java.io.IOException;

/** A repository or file that cannot be had from the Hub or the cache; the message says why and what to do. */
public class HubException extends IOException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}

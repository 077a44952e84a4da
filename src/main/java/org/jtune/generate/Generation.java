package org.jtune.generate;

import java.util.concurrent.CompletableFuture;

/** A submitted sequence: its result when it is done, and a way to stop it early. */
public final class Generation {
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    private volatile boolean cancelled;

    /** A fresh, running sequence; its producer completes {@link #result()}. */
    public Generation() {}

    /** Completes with the result, or exceptionally (cancelled, or the request could not be run). */
    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    /** Waits for the result. */
    public GenerationResult join() {
        return result.join();
    }

    /** Stops the sequence at the next step and frees its slot (a client that went away); its result is cancelled. */
    public void cancel() {
        cancelled = true;
        result.cancel(false);
    }

    boolean cancelled() {
        return cancelled;
    }

    CompletableFuture<GenerationResult> future() {
        return result;
    }
}

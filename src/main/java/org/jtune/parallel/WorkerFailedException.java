package org.jtune.parallel;

/** A collective that could not complete because a worker of the run failed: names that worker and its error. */
public final class WorkerFailedException extends RuntimeException {
    private final int failedRank;

    /**
     * @param failedRank the worker that failed
     * @param size       the number of workers of the run
     * @param error      what the worker reported, e.g. "IllegalStateException: ..."
     * @param cause      the worker's exception where it is in this process, else null
     */
    public WorkerFailedException(int failedRank, int size, String error, Throwable cause) {
        super("worker " + failedRank + " of " + size + " failed: " + error, cause);
        this.failedRank = failedRank;
    }

    /** The rank of the worker whose error ended the run. */
    public int failedRank() {
        return failedRank;
    }

    /** How a worker's error is reported to the others: its class and message. */
    static String describe(Throwable error) {
        String message = error.getMessage();
        return error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}

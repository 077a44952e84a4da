package org.jtune.parallel.nccl;

/** An NCCL call failed: names the call, NCCL's text for its result code and NCCL's last error message. */
public final class NcclException extends RuntimeException {
    private final int code;
    private final String call;

    NcclException(String call, int code, String errorString, String lastError) {
        super(call + " failed: " + errorString + " (" + code + ")" + (lastError.isEmpty() ? "" : ": " + lastError));
        this.call = call;
        this.code = code;
    }

    /** NCCL's {@code ncclResult_t} code. */
    public int code() {
        return code;
    }

    /** The NCCL function that failed (or whose asynchronous error was found). */
    public String call() {
        return call;
    }
}

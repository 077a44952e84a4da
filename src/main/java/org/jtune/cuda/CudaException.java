package org.jtune.cuda;

/** A CUDA driver call failed; names the call, the driver's error name and its description. */
public final class CudaException extends RuntimeException {
    private final int code;
    private final String call;

    CudaException(String call, int code, String errorName, String description) {
        super(call + " failed: " + errorName + " (" + code + ")" + (description.isEmpty() ? "" : ": " + description));
        this.call = call;
        this.code = code;
    }

    CudaException(String message) {
        super(message);
        this.call = "";
        this.code = -1;
    }

    /** The driver's {@code CUresult} code, or -1 for errors raised by this layer. */
    public int code() {
        return code;
    }

    /** The driver function that failed, or an empty string. */
    public String call() {
        return call;
    }
}

package org.jtune.parallel.nccl;

import java.lang.foreign.MemorySegment;
import org.jtune.bindings.nccl.Nccl;

/** Turns NCCL's result codes into {@link NcclException}s with NCCL's own words for them. */
final class NcclResults {
    private NcclResults() {}

    /** Whether {@code result} is an error (neither success nor a non-blocking call still in progress). */
    static boolean isError(int result) {
        return result != Nccl.ncclSuccess() && result != Nccl.ncclInProgress();
    }

    /** Throws unless {@code result} is success or in progress; {@code comm} (may be NULL) gives the last error. */
    static void check(int result, String call, MemorySegment comm) {
        if (isError(result)) {
            throw failure(result, call, comm);
        }
    }

    static NcclException failure(int result, String call, MemorySegment comm) {
        return new NcclException(call, result, errorString(result), lastError(comm));
    }

    static String errorString(int result) {
        return text(Nccl.ncclGetErrorString(result));
    }

    /** NCCL's message for the last error (of any communicator: NCCL keeps one per process). */
    static String lastError(MemorySegment comm) {
        return text(Nccl.ncclGetLastError(comm == null ? MemorySegment.NULL : comm));
    }

    private static String text(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(4096).getString(0).strip();
    }
}

package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/** Turns every non-zero {@code CUresult} into a {@link CudaException} naming the call. */
final class CudaResults {
    private CudaResults() {}

    static void check(int result, String call) {
        if (result != CudaDriver.CUDA_SUCCESS()) {
            throw new CudaException(call, result, errorName(result), errorDescription(result));
        }
    }

    static boolean isOutOfMemory(int result) {
        return result == CudaDriver.CUDA_ERROR_OUT_OF_MEMORY();
    }

    static String errorName(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            if (CudaDriver.cuGetErrorName(result, out) != CudaDriver.CUDA_SUCCESS()) {
                return "CUDA_ERROR_UNKNOWN_CODE";
            }
            return cString(out);
        }
    }

    static String errorDescription(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            if (CudaDriver.cuGetErrorString(result, out) != CudaDriver.CUDA_SUCCESS()) {
                return "";
            }
            return cString(out);
        }
    }

    private static String cString(MemorySegment pointerToString) {
        MemorySegment text = pointerToString.get(ValueLayout.ADDRESS, 0);
        return text.equals(MemorySegment.NULL) ? "" : text.reinterpret(4096).getString(0);
    }
}

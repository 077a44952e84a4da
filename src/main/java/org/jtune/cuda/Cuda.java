package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/**
 * Entry to the CUDA driver. The driver library is loaded on first use; where it is missing or finds
 * no GPU, {@link #status()} says why and everything else in this package refuses to run.
 */
public final class Cuda {
    /** The driver's soname: driver-only hosts have no unversioned {@code libcuda.so}. */
    static final String DRIVER_LIBRARY = "libcuda.so.1";

    private static Status status;

    private Cuda() {}

    /** Whether a usable GPU is there; if not, {@code reason} says why in one line. */
    public record Status(boolean available, String reason, int driverVersion, int deviceCount) {
        /** Driver version as "major.minor", e.g. "13.0". */
        public String driverVersionString() {
            return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
        }
    }

    /** Loads and initializes the driver once, and reports what it found. Never throws. */
    public static synchronized Status status() {
        if (status == null) {
            status = probe();
        }
        return status;
    }

    public static boolean isAvailable() {
        return status().available();
    }

    /** Throws a {@link CudaException} saying why, unless a GPU is usable. */
    public static void requireAvailable() {
        Status s = status();
        if (!s.available()) {
            throw new CudaException("no usable CUDA GPU: " + s.reason());
        }
    }

    private static Status probe() {
        try {
            // Loading the bindings class with no driver present would fail in its static initializer,
            // so the library is looked up on its own first.
            SymbolLookup.libraryLookup(DRIVER_LIBRARY, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            return new Status(false, "no NVIDIA driver (" + DRIVER_LIBRARY + " not found)", 0, 0);
        }
        try {
            int init = CudaDriver.cuInit(0);
            if (init == CudaDriver.CUDA_ERROR_NO_DEVICE()) {
                return new Status(false, "the NVIDIA driver found no GPU", driverVersion(), 0);
            }
            if (init != CudaDriver.CUDA_SUCCESS()) {
                return new Status(false, "cuInit failed: " + CudaResults.errorName(init), 0, 0);
            }
            int count;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
                CudaResults.check(CudaDriver.cuDeviceGetCount(out), "cuDeviceGetCount");
                count = out.get(ValueLayout.JAVA_INT, 0);
            }
            if (count == 0) {
                return new Status(false, "the NVIDIA driver found no GPU", driverVersion(), 0);
            }
            return new Status(true, "", driverVersion(), count);
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, "the CUDA driver could not be used: " + e, 0, 0);
        }
    }

    private static int driverVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            CudaResults.check(CudaDriver.cuDriverGetVersion(out), "cuDriverGetVersion");
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }
}

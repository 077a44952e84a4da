package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jtune.bindings.CudaDriver;

/** One GPU and the properties kernels are sized by. */
public final class Device {
    private final int ordinal;
    private final int handle;
    private final String name;
    private final int computeMajor;
    private final int computeMinor;
    private final int multiprocessors;
    private final long totalMemory;
    private final int l2CacheBytes;
    private final int maxSharedPerBlock;
    private final int maxSharedPerBlockOptin;
    private final int maxThreadsPerBlock;

    private Device(int ordinal) {
        this.ordinal = ordinal;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            CudaResults.check(CudaDriver.cuDeviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
            this.handle = out.get(ValueLayout.JAVA_INT, 0);
            MemorySegment text = arena.allocate(256);
            CudaResults.check(CudaDriver.cuDeviceGetName(text, 256, handle), "cuDeviceGetName");
            this.name = text.getString(0);
            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            CudaResults.check(CudaDriver.cuDeviceTotalMem_v2(bytes, handle), "cuDeviceTotalMem");
            this.totalMemory = bytes.get(ValueLayout.JAVA_LONG, 0);
        }
        this.computeMajor = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR());
        this.computeMinor = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR());
        this.multiprocessors = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT());
        this.l2CacheBytes = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE());
        this.maxSharedPerBlock = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK());
        this.maxSharedPerBlockOptin = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN());
        this.maxThreadsPerBlock = attribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK());
    }

    /** Number of GPUs the driver sees (0 where there is no usable driver). */
    public static int count() {
        return Cuda.status().deviceCount();
    }

    /** The GPU with this ordinal. */
    public static Device get(int ordinal) {
        Cuda.requireAvailable();
        int count = count();
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaException("no GPU " + ordinal + ": the driver sees " + count);
        }
        return new Device(ordinal);
    }

    /** Every GPU the driver sees, in ordinal order; empty where there is none. */
    public static List<Device> all() {
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < count(); i++) {
            devices.add(new Device(i));
        }
        return devices;
    }

    /** Reads one {@code CU_DEVICE_ATTRIBUTE_*} value. */
    public int attribute(int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            CudaResults.check(CudaDriver.cuDeviceGetAttribute(out, attribute, handle),
                    "cuDeviceGetAttribute(" + attribute + ")");
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public int ordinal() { return ordinal; }
    int handle() { return handle; }
    public String name() { return name; }
    public int computeMajor() { return computeMajor; }
    public int computeMinor() { return computeMinor; }
    /** Compute capability as an integer, e.g. 90 for 9.0. */
    public int computeCapability() { return computeMajor * 10 + computeMinor; }
    public int multiprocessors() { return multiprocessors; }
    public long totalMemory() { return totalMemory; }
    public int l2CacheBytes() { return l2CacheBytes; }
    /** Shared memory a block gets without opting in. */
    public int maxSharedPerBlock() { return maxSharedPerBlock; }
    /** Shared memory a block can get after raising the kernel's dynamic limit. */
    public int maxSharedPerBlockOptin() { return maxSharedPerBlockOptin; }
    public int maxThreadsPerBlock() { return maxThreadsPerBlock; }

    @Override
    public String toString() {
        return String.format("GPU %d: %s, compute %d.%d, %.1f GiB, %d SMs, L2 %d MiB, shared/block %d KiB (opt-in %d KiB)",
                ordinal, name, computeMajor, computeMinor, totalMemory / (double) (1L << 30), multiprocessors,
                l2CacheBytes >> 20, maxSharedPerBlock >> 10, maxSharedPerBlockOptin >> 10);
    }
}

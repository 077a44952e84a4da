package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jtune.bindings.CudaDriver;

/**
 * A device's primary context: the one context the driver shares with every other user of the GPU in
 * this process. Owns the PTX modules loaded into it (cached by name).
 */
public final class Context implements AutoCloseable {
    private static final Map<Integer, Context> PRIMARY = new HashMap<>();
    private static final ThreadLocal<Context> CURRENT = new ThreadLocal<>();

    private final Device device;
    private final MemorySegment handle;
    private final Map<String, PtxModule> modules = new HashMap<>();
    private final AtomicLong allocations = new AtomicLong();
    private boolean released;

    private Context(Device device, MemorySegment handle) {
        this.device = device;
        this.handle = handle;
    }

    /** The primary context of a device, retained once for the life of the process unless closed. */
    public static synchronized Context primary(Device device) {
        Context context = PRIMARY.get(device.ordinal());
        if (context == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                CudaResults.check(CudaDriver.cuDevicePrimaryCtxRetain(out, device.handle()),
                        "cuDevicePrimaryCtxRetain(" + device.ordinal() + ")");
                context = new Context(device, out.get(ValueLayout.ADDRESS, 0));
            }
            PRIMARY.put(device.ordinal(), context);
        }
        return context;
    }

    /** Makes this context current on the calling thread (cheap when it already is). */
    public void makeCurrent() {
        if (CURRENT.get() != this) {
            checkOpen();
            CudaResults.check(CudaDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent");
            CURRENT.set(this);
        }
    }

    public Device device() {
        return device;
    }

    /** Waits for all work in this context. */
    public void synchronize() {
        makeCurrent();
        CudaResults.check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** Free and total device memory in bytes, as the driver reports them now. */
    public MemoryInfo memoryInfo() {
        makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            CudaResults.check(CudaDriver.cuMemGetInfo_v2(free, total), "cuMemGetInfo");
            return new MemoryInfo(free.get(ValueLayout.JAVA_LONG, 0), total.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** Free and total device memory in bytes. */
    public record MemoryInfo(long free, long total) {}

    /** The PTX module {@code src/main/ptx/<name>.ptx}, loaded on first use and cached in this context. */
    public synchronized PtxModule module(String name) {
        PtxModule module = modules.get(name);
        if (module == null) {
            module = PtxModule.loadResource(this, name);
            modules.put(name, module);
        }
        return module;
    }

    public Stream createStream() {
        return new Stream(this);
    }

    public DeviceBuffer allocate(long bytes) {
        return new DeviceBuffer(this, bytes);
    }

    /**
     * Device allocations made through this context so far (slices are not allocations): lets a caller check
     * that a loop which should only reuse memory allocates none.
     */
    public long allocationCount() {
        return allocations.get();
    }

    void countAllocation() {
        allocations.incrementAndGet();
    }

    public PinnedBuffer allocatePinned(long bytes) {
        return new PinnedBuffer(this, bytes);
    }

    MemorySegment handle() {
        checkOpen();
        return handle;
    }

    private void checkOpen() {
        if (released) {
            throw new IllegalStateException("the primary context of GPU " + device.ordinal() + " was released");
        }
    }

    /** Unloads this context's modules and releases the primary context. */
    @Override
    public void close() {
        synchronized (Context.class) {
            if (released) {
                throw new IllegalStateException("the primary context of GPU " + device.ordinal() + " is already released");
            }
            makeCurrent();
            modules.values().forEach(PtxModule::close);
            modules.clear();
            CudaResults.check(CudaDriver.cuDevicePrimaryCtxRelease_v2(device.handle()), "cuDevicePrimaryCtxRelease");
            released = true;
            PRIMARY.remove(device.ordinal());
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
        }
    }
}

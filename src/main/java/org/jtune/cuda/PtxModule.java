package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jtune.bindings.CudaDriver;

/**
 * A PTX text compiled by the driver for the context's GPU. Load failures carry the compiler's error
 * log; the compile time is kept for reporting.
 */
public final class PtxModule implements AutoCloseable {
    private static final int LOG_BYTES = 16 * 1024;

    private final Context context;
    private final PtxSource source;
    private final float jitMillis;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private MemorySegment handle;

    private PtxModule(Context context, PtxSource source, MemorySegment handle, float jitMillis) {
        this.context = context;
        this.source = source;
        this.handle = handle;
        this.jitMillis = jitMillis;
    }

    /**
     * Loads {@code src/main/ptx/<name>.ptx} from the class path, or its replacement from the folder named by
     * {@link PtxFiles#OVERRIDE_PROPERTY}. Prefer {@link Context#module(String)}, which caches.
     */
    public static PtxModule loadResource(Context context, String name) {
        PtxFiles.Text text = PtxFiles.read(name);
        return load(context, text.origin(), text.ptx());
    }

    /** Compiles a PTX text; {@code name} appears in error messages. */
    public static PtxModule load(Context context, String name, String ptx) {
        PtxSource source = PtxSource.parse(name, ptx);
        Device device = context.device();
        if (!source.runsOn(device.computeCapability())) {
            throw new CudaException("PTX " + name + " targets " + source.target() + ", which does not run on "
                    + device.name() + " (compute " + device.computeMajor() + "." + device.computeMinor() + ")");
        }
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errorLog = arena.allocate(LOG_BYTES);
            int[] optionIds = {
                CudaDriver.CU_JIT_ERROR_LOG_BUFFER(),
                CudaDriver.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES(),
                CudaDriver.CU_JIT_WALL_TIME(),
            };
            MemorySegment options = arena.allocateFrom(ValueLayout.JAVA_INT, optionIds);
            // Option values are pointer-sized slots; sizes and the returned wall time live in the slot itself.
            MemorySegment values = arena.allocate(ValueLayout.ADDRESS, optionIds.length);
            values.setAtIndex(ValueLayout.ADDRESS, 0, errorLog);
            values.setAtIndex(ValueLayout.JAVA_LONG, 1, LOG_BYTES);
            values.setAtIndex(ValueLayout.JAVA_LONG, 2, 0);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment image = arena.allocateFrom(ptx);
            int result = CudaDriver.cuModuleLoadDataEx(out, image, optionIds.length, options, values);
            if (result != CudaDriver.CUDA_SUCCESS()) {
                String log = errorLog.getString(0).strip();
                throw new CudaException("cuModuleLoadDataEx(" + name + ")", result, CudaResults.errorName(result),
                        log.isEmpty() ? CudaResults.errorDescription(result) : "PTX compiler log:\n" + log);
            }
            float millis = values.get(ValueLayout.JAVA_FLOAT, 2L * ValueLayout.ADDRESS.byteSize());
            return new PtxModule(context, source, out.get(ValueLayout.ADDRESS, 0), millis);
        }
    }

    /** The kernel of this name, with its parameter list read from the PTX. */
    public synchronized Kernel kernel(String name) {
        Kernel kernel = kernels.get(name);
        if (kernel == null) {
            List<PtxSource.KernelParam> params = source.entries().get(name);
            if (params == null) {
                throw new IllegalArgumentException("PTX " + source.name() + " has no kernel " + name
                        + "; it has " + source.entries().keySet());
            }
            context.makeCurrent();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                CudaResults.check(CudaDriver.cuModuleGetFunction(out, handle(), arena.allocateFrom(name)),
                        "cuModuleGetFunction(" + name + ")");
                kernel = new Kernel(context, name, params, out.get(ValueLayout.ADDRESS, 0));
            }
            kernels.put(name, kernel);
        }
        return kernel;
    }

    /** Milliseconds the driver spent compiling this module. */
    public float jitMillis() {
        return jitMillis;
    }

    public PtxSource source() {
        return source;
    }

    private MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("PTX module " + source.name() + " used after unload");
        }
        return handle;
    }

    @Override
    public void close() {
        if (handle == null) {
            throw new IllegalStateException("PTX module " + source.name() + " already unloaded");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuModuleUnload(handle), "cuModuleUnload(" + source.name() + ")");
        handle = null;
    }
}

package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jtune.bindings.CudaDriver;

/**
 * A kernel entry of a loaded PTX module. Launches check the Java arguments against the parameter
 * types the PTX declares, so a wrong count or type is an exception here, not a fault on the GPU.
 * <p>Arguments: {@link DeviceBuffer} or {@code Long} for 64-bit integer (pointer) parameters,
 * {@code Integer} for 32-bit integers, {@code Float} for .f32, {@code Double} for .f64,
 * {@code Short}/{@code Byte} for 16/8-bit, and a {@link MemorySegment} of the exact size for a
 * .b8 array (a struct passed by value).
 */
public final class Kernel {
    private static final int MAX_PARAMS = 64;
    private static final long VALUES_OFFSET = MAX_PARAMS * 8L;
    private static final long SCRATCH_BYTES = 8192;
    /** Alignment of byte-array arguments: a CUtensorMap is declared {@code .param .align 64 .b8 [128]}. */
    private static final int ARRAY_ALIGNMENT = 64;
    /** Per-thread scratch for argument values and the pointer array, so launches allocate nothing. */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SCRATCH_BYTES, ARRAY_ALIGNMENT));

    private final Context context;
    private final String name;
    private final List<PtxSource.KernelParam> params;
    private final MemorySegment function;
    private int dynamicSharedLimit;

    Kernel(Context context, String name, List<PtxSource.KernelParam> params, MemorySegment function) {
        if (params.size() > MAX_PARAMS) {
            throw new IllegalArgumentException("kernel " + name + " has " + params.size() + " parameters; at most "
                    + MAX_PARAMS + " are supported");
        }
        this.context = context;
        this.name = name;
        this.params = params;
        this.function = function;
        this.dynamicSharedLimit = attribute(CudaDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES());
    }

    public String name() {
        return name;
    }

    public List<PtxSource.KernelParam> params() {
        return params;
    }

    /** Reads a {@code CU_FUNC_ATTRIBUTE_*} value. */
    public int attribute(int attribute) {
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            CudaResults.check(CudaDriver.cuFuncGetAttribute(out, attribute, function),
                    "cuFuncGetAttribute(" + name + ", " + attribute + ")");
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public int registersPerThread() {
        return attribute(CudaDriver.CU_FUNC_ATTRIBUTE_NUM_REGS());
    }

    public int staticSharedBytes() {
        return attribute(CudaDriver.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES());
    }

    /** Local (spilled) memory per thread: non-zero usually means a slow kernel. */
    public int localBytesPerThread() {
        return attribute(CudaDriver.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES());
    }

    /** Lets launches use up to {@code bytes} of dynamic shared memory (above 48 KiB needs this opt-in). */
    public void allowDynamicSharedMemory(int bytes) {
        Device device = context.device();
        int available = device.maxSharedPerBlockOptin() - staticSharedBytes();
        if (bytes > available) {
            throw new CudaException("kernel " + name + " asks for " + bytes + " bytes of dynamic shared memory; "
                    + device.name() + " allows " + available + " next to its " + staticSharedBytes() + " static bytes");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuFuncSetAttribute(function,
                CudaDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES(), bytes), "cuFuncSetAttribute(" + name + ")");
        dynamicSharedLimit = bytes;
    }

    /** Resident blocks per multiprocessor at this block size and dynamic shared memory. */
    public int maxActiveBlocksPerMultiprocessor(int blockSize, int dynamicSharedBytes) {
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            CudaResults.check(CudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(out, function, blockSize,
                    dynamicSharedBytes), "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ")");
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Queues the kernel on {@code stream}. */
    public void launch(Stream stream, LaunchShape shape, Object... args) {
        if (shape.sharedBytes() > dynamicSharedLimit) {
            throw new CudaException("kernel " + name + " launched with " + shape.sharedBytes()
                    + " bytes of dynamic shared memory; its limit is " + dynamicSharedLimit
                    + " (raise it with allowDynamicSharedMemory)");
        }
        MemorySegment scratch = SCRATCH.get();
        MemorySegment pointers = marshal(scratch, args);
        context.makeCurrent();
        int result = CudaDriver.cuLaunchKernel(function, shape.gridX(), shape.gridY(), shape.gridZ(),
                shape.blockX(), shape.blockY(), shape.blockZ(), shape.sharedBytes(), stream.handle(),
                pointers, MemorySegment.NULL);
        if (result != CudaDriver.CUDA_SUCCESS()) {
            CudaResults.check(result, "cuLaunchKernel(" + name + ", " + shape + ")");
        }
    }

    /** Writes each argument's value into scratch and returns the array of pointers to them. */
    private MemorySegment marshal(MemorySegment scratch, Object[] args) {
        if (args.length != params.size()) {
            throw new IllegalArgumentException("kernel " + name + " takes " + params.size() + " arguments "
                    + params.stream().map(PtxSource.KernelParam::describe).toList() + ", got " + args.length);
        }
        long offset = VALUES_OFFSET;
        for (int i = 0; i < args.length; i++) {
            PtxSource.KernelParam param = params.get(i);
            long align = param.array() ? ARRAY_ALIGNMENT : param.bytes();
            offset = (offset + align - 1) / align * align;
            if (offset + param.bytes() > SCRATCH_BYTES) {
                throw new IllegalArgumentException("kernel " + name + ": arguments exceed " + SCRATCH_BYTES + " bytes");
            }
            write(scratch, offset, param, i, args[i]);
            scratch.setAtIndex(ValueLayout.ADDRESS, i, scratch.asSlice(offset));
            offset += param.bytes();
        }
        return scratch;
    }

    private void write(MemorySegment scratch, long offset, PtxSource.KernelParam param, int index, Object arg) {
        if (param.array()) {
            if (arg instanceof MemorySegment bytes && bytes.byteSize() == param.bytes()) {
                MemorySegment.copy(bytes, 0, scratch, offset, param.bytes());
                return;
            }
        } else if (param.kind() == 'f') {
            if (param.bytes() == 4 && arg instanceof Float f) {
                scratch.set(ValueLayout.JAVA_FLOAT, offset, f);
                return;
            }
            if (param.bytes() == 8 && arg instanceof Double d) {
                scratch.set(ValueLayout.JAVA_DOUBLE, offset, d);
                return;
            }
        } else {
            switch (param.bytes()) {
                case 8 -> {
                    if (arg instanceof DeviceBuffer buffer) {
                        scratch.set(ValueLayout.JAVA_LONG, offset, buffer.address());
                        return;
                    }
                    if (arg instanceof Long l) {
                        scratch.set(ValueLayout.JAVA_LONG, offset, l);
                        return;
                    }
                }
                case 4 -> {
                    if (arg instanceof Integer n) {
                        scratch.set(ValueLayout.JAVA_INT, offset, n);
                        return;
                    }
                }
                case 2 -> {
                    if (arg instanceof Short s) {
                        scratch.set(ValueLayout.JAVA_SHORT, offset, s);
                        return;
                    }
                }
                case 1 -> {
                    if (arg instanceof Byte b) {
                        scratch.set(ValueLayout.JAVA_BYTE, offset, b);
                        return;
                    }
                }
                default -> { }
            }
        }
        throw new IllegalArgumentException("kernel " + name + " argument " + index + " " + param.describe()
                + " cannot take " + (arg == null ? "null" : arg.getClass().getSimpleName() + " " + arg));
    }
}

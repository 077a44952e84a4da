package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/**
 * Device memory owned by this object and freed by {@link #close()}, or a {@link #slice} of such memory. A freed
 * buffer (and every slice of it) refuses every use, so a stale pointer never reaches a kernel.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final Context context;
    private final long bytes;
    /** The buffer that owns the memory of a slice; null for a buffer that owns its memory. */
    private final DeviceBuffer owner;
    /** Offset of a slice in its owner. */
    private final long offset;
    private long address;

    DeviceBuffer(Context context, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device buffer size must be positive, got " + bytes);
        }
        this.context = context;
        this.bytes = bytes;
        this.owner = null;
        this.offset = 0;
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            int result = CudaDriver.cuMemAlloc_v2(out, bytes);
            if (CudaResults.isOutOfMemory(result)) {
                Context.MemoryInfo info = context.memoryInfo();
                throw new CudaException(String.format(
                        "out of GPU memory: asked for %s, %s free of %s on GPU %d",
                        formatBytes(bytes), formatBytes(info.free()), formatBytes(info.total()),
                        context.device().ordinal()));
            }
            CudaResults.check(result, "cuMemAlloc(" + bytes + " bytes)");
            this.address = out.get(ValueLayout.JAVA_LONG, 0);
            context.countAllocation();
        }
    }

    private DeviceBuffer(DeviceBuffer owner, long offset, long bytes) {
        this.context = owner.context;
        this.bytes = bytes;
        this.owner = owner;
        this.offset = offset;
    }

    /**
     * Bytes {@code [offset, offset + bytes)} of this buffer as a buffer of its own, without allocating: for carving
     * one allocation into many. The slice is valid while the memory it was cut from is, and is not closed itself.
     */
    public DeviceBuffer slice(long offset, long bytes) {
        if (offset < 0 || bytes <= 0 || offset > this.bytes - bytes) {
            throw new IllegalArgumentException("slice of " + bytes + " bytes at offset " + offset
                    + " does not fit a device buffer of " + this.bytes + " bytes");
        }
        return owner == null ? new DeviceBuffer(this, offset, bytes)
                : new DeviceBuffer(owner, this.offset + offset, bytes);
    }

    /** The device address; throws once the buffer (or the buffer a slice was cut from) is freed. */
    public long address() {
        if (owner != null) {
            return owner.address() + offset;
        }
        if (address == 0) {
            throw new IllegalStateException("device buffer of " + bytes + " bytes used after close");
        }
        return address;
    }

    public long bytes() {
        return bytes;
    }

    public Context context() {
        return context;
    }

    /** Copies {@code source} (host memory, on or off the heap) to the start of this buffer and waits for the copy. */
    public void copyFromHost(MemorySegment source) {
        checkFits(source.byteSize(), "copy from host");
        context.makeCurrent();
        if (!source.isNative()) {
            try (Arena arena = Arena.ofConfined()) {
                copyFromHost(arena.allocate(source.byteSize(), 16).copyFrom(source));
            }
            return;
        }
        CudaResults.check(CudaDriver.cuMemcpyHtoD_v2(address(), source, source.byteSize()), "cuMemcpyHtoD");
    }

    /** Copies the start of this buffer into {@code target} (host memory, on or off the heap) and waits for the copy. */
    public void copyToHost(MemorySegment target) {
        checkFits(target.byteSize(), "copy to host");
        context.makeCurrent();
        if (!target.isNative()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment staging = arena.allocate(target.byteSize(), 16);
                copyToHost(staging);
                target.copyFrom(staging);
            }
            return;
        }
        CudaResults.check(CudaDriver.cuMemcpyDtoH_v2(target, address(), target.byteSize()), "cuMemcpyDtoH");
    }

    /**
     * Queues a copy from host memory on {@code stream}. The host memory must stay valid until the
     * stream reaches the copy; it overlaps with other work only if pinned ({@link PinnedBuffer}).
     */
    public void copyFromHostAsync(MemorySegment source, Stream stream) {
        checkFits(source.byteSize(), "copy from host");
        requireNative(source);
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemcpyHtoDAsync_v2(address(), source, source.byteSize(), stream.handle()),
                "cuMemcpyHtoDAsync");
    }

    /** Queues a copy of the start of this buffer into host memory on {@code stream}. */
    public void copyToHostAsync(MemorySegment target, Stream stream) {
        checkFits(target.byteSize(), "copy to host");
        requireNative(target);
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemcpyDtoHAsync_v2(target, address(), target.byteSize(), stream.handle()),
                "cuMemcpyDtoHAsync");
    }

    /** Queues a copy of {@code byteCount} bytes from the start of {@code source} on {@code stream}. */
    public void copyFromAsync(DeviceBuffer source, long byteCount, Stream stream) {
        checkFits(byteCount, "device copy");
        source.checkFits(byteCount, "device copy");
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemcpyDtoDAsync_v2(address(), source.address(), byteCount, stream.handle()),
                "cuMemcpyDtoDAsync");
    }

    /** Queues setting every byte to {@code value} on {@code stream}. */
    public void fillBytesAsync(int value, Stream stream) {
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemsetD8Async(address(), (byte) value, bytes, stream.handle()), "cuMemsetD8Async");
    }

    /** Queues setting every 32-bit word to {@code bits} on {@code stream} (e.g. a float's bits). */
    public void fillWordsAsync(int bits, Stream stream) {
        if (bytes % 4 != 0) {
            throw new IllegalArgumentException("buffer of " + bytes + " bytes is not a whole number of 32-bit words");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemsetD32Async(address(), bits, bytes / 4, stream.handle()), "cuMemsetD32Async");
    }

    private static void requireNative(MemorySegment host) {
        if (!host.isNative()) {
            throw new IllegalArgumentException("asynchronous copies need off-heap host memory (a heap segment can move)");
        }
    }

    private void checkFits(long byteCount, String what) {
        if (byteCount < 0 || byteCount > bytes) {
            throw new IllegalArgumentException(what + " of " + byteCount + " bytes does not fit a device buffer of "
                    + bytes + " bytes");
        }
    }

    /** Frees the memory. A second close is an error, as is any use after it, and closing a slice. */
    @Override
    public void close() {
        if (owner != null) {
            throw new IllegalStateException("a slice of " + bytes + " bytes owns no memory; close the buffer it was"
                    + " cut from");
        }
        if (address == 0) {
            throw new IllegalStateException("device buffer of " + bytes + " bytes already freed");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemFree_v2(address), "cuMemFree");
        address = 0;
    }

    static String formatBytes(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format("%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format("%.1f MiB", bytes / (double) (1L << 20));
        }
        return bytes + " bytes";
    }
}

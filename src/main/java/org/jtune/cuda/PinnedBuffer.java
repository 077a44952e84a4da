package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/**
 * Page-locked host memory: copies between it and the device run at full bus speed and asynchronously.
 * Its segment is bound to this object's lifetime, so a use after {@link #close()} fails in Java rather
 * than touching freed memory.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final Context context;
    private final Arena lifetime = Arena.ofShared();
    private final MemorySegment segment;
    private final long address;
    private boolean freed;

    PinnedBuffer(Context context, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("pinned buffer size must be positive, got " + bytes);
        }
        this.context = context;
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            CudaResults.check(CudaDriver.cuMemHostAlloc(out, bytes, CudaDriver.CU_MEMHOSTALLOC_PORTABLE()),
                    "cuMemHostAlloc(" + bytes + " bytes)");
            MemorySegment raw = out.get(ValueLayout.ADDRESS, 0);
            this.address = raw.address();
            this.segment = raw.reinterpret(bytes, lifetime, null);
        }
    }

    /** The host memory; invalid after close. */
    public MemorySegment segment() {
        return segment;
    }

    public long bytes() {
        return segment.byteSize();
    }

    /** Frees the memory. A second close is an error. */
    @Override
    public void close() {
        if (freed) {
            throw new IllegalStateException("pinned buffer of " + segment.byteSize() + " bytes already freed");
        }
        freed = true;
        lifetime.close();
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuMemFreeHost(MemorySegment.ofAddress(address)), "cuMemFreeHost");
    }
}

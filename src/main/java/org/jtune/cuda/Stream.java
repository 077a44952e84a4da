package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/** A CUDA stream: work queued on it runs in order; different streams may overlap. */
public final class Stream implements AutoCloseable {
    private final Context context;
    private MemorySegment handle;

    Stream(Context context) {
        this.context = context;
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            // Non-blocking: no implicit synchronization with the legacy default stream.
            CudaResults.check(CudaDriver.cuStreamCreate(out, CudaDriver.CU_STREAM_NON_BLOCKING()), "cuStreamCreate");
            this.handle = out.get(ValueLayout.ADDRESS, 0);
        }
    }

    public Context context() {
        return context;
    }

    /** Blocks until everything queued on this stream has run. */
    public void synchronize() {
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuStreamSynchronize(handle()), "cuStreamSynchronize");
    }

    /** Makes later work on this stream wait for {@code event}. */
    public void waitFor(Event event) {
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuStreamWaitEvent(handle(), event.handle(), 0), "cuStreamWaitEvent");
    }

    /**
     * The driver's {@code CUstream}, for a library that queues its own work on this stream (NCCL's collectives);
     * throws once the stream is closed.
     */
    public MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("stream used after close");
        }
        return handle;
    }

    @Override
    public void close() {
        if (handle == null) {
            throw new IllegalStateException("stream already closed");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuStreamDestroy_v2(handle), "cuStreamDestroy");
        handle = null;
    }
}

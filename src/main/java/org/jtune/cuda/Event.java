package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/** A CUDA event: a point in a stream's work, for ordering streams and timing on the device. */
public final class Event implements AutoCloseable {
    private final Context context;
    private MemorySegment handle;

    public Event(Context context) {
        this.context = context;
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            CudaResults.check(CudaDriver.cuEventCreate(out, CudaDriver.CU_EVENT_DEFAULT()), "cuEventCreate");
            this.handle = out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** Records this event at the current end of {@code stream}'s queue. */
    public void record(Stream stream) {
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuEventRecord(handle(), stream.handle()), "cuEventRecord");
    }

    /** Blocks until the work before this event's last record has run. */
    public void synchronize() {
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuEventSynchronize(handle()), "cuEventSynchronize");
    }

    /** Device time between two recorded events, in milliseconds (about 0.5 µs resolution). */
    public static float elapsedMillis(Event start, Event end) {
        end.synchronize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT);
            CudaResults.check(CudaDriver.cuEventElapsedTime_v2(out, start.handle(), end.handle()), "cuEventElapsedTime");
            return out.get(ValueLayout.JAVA_FLOAT, 0);
        }
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("event used after close");
        }
        return handle;
    }

    @Override
    public void close() {
        if (handle == null) {
            throw new IllegalStateException("event already closed");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuEventDestroy_v2(handle), "cuEventDestroy");
        handle = null;
    }
}

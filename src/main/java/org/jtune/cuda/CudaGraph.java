package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/**
 * Work captured once from a stream and replayed with one launch: removes the per-kernel launch cost
 * once shapes are fixed.
 */
public final class CudaGraph implements AutoCloseable {
    private final Context context;
    private MemorySegment executable;

    private CudaGraph(Context context, MemorySegment executable) {
        this.context = context;
        this.executable = executable;
    }

    /**
     * Records what {@code work} queues on {@code stream} (it runs nothing while capturing) and
     * instantiates it. If {@code work} throws, capture is ended and the exception passes through.
     */
    public static CudaGraph capture(Stream stream, Runnable work) {
        Context context = stream.context();
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuStreamBeginCapture_v2(stream.handle(),
                CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL()), "cuStreamBeginCapture");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment graphOut = arena.allocate(ValueLayout.ADDRESS);
            try {
                work.run();
            } catch (RuntimeException | Error e) {
                CudaDriver.cuStreamEndCapture(stream.handle(), graphOut);
                MemorySegment partial = graphOut.get(ValueLayout.ADDRESS, 0);
                if (!partial.equals(MemorySegment.NULL)) {
                    CudaDriver.cuGraphDestroy(partial);
                }
                throw e;
            }
            CudaResults.check(CudaDriver.cuStreamEndCapture(stream.handle(), graphOut), "cuStreamEndCapture");
            MemorySegment graph = graphOut.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment execOut = arena.allocate(ValueLayout.ADDRESS);
                CudaResults.check(CudaDriver.cuGraphInstantiateWithFlags(execOut, graph, 0L), "cuGraphInstantiate");
                return new CudaGraph(context, execOut.get(ValueLayout.ADDRESS, 0));
            } finally {
                CudaDriver.cuGraphDestroy(graph);
            }
        }
    }

    /** Queues one replay of the captured work on {@code stream}. */
    public void launch(Stream stream) {
        if (executable == null) {
            throw new IllegalStateException("CUDA graph used after close");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuGraphLaunch(executable, stream.handle()), "cuGraphLaunch");
    }

    @Override
    public void close() {
        if (executable == null) {
            throw new IllegalStateException("CUDA graph already closed");
        }
        context.makeCurrent();
        CudaResults.check(CudaDriver.cuGraphExecDestroy(executable), "cuGraphExecDestroy");
        executable = null;
    }
}

package org.jtune.parallel;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The communicator of a run of one worker: every collective leaves the buffers as they are (the sum over one worker
 * is its own values), so the data-parallel code path costs nothing and changes no number.
 */
public final class SingleCommunicator implements Communicator {
    public static final SingleCommunicator INSTANCE = new SingleCommunicator();

    private SingleCommunicator() {}

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public void allReduceSum(List<MemorySegment> floatBuffers) {}

    @Override
    public void allReduceSum(double[] values) {}

    @Override
    public void broadcast(MemorySegment bytes, int root) {
        if (root != 0) {
            throw new IllegalArgumentException("broadcast from worker " + root + " in a run of one worker");
        }
    }

    @Override
    public void barrier() {}

    /** The failing worker is the only one: its error ends the run by itself. */
    @Override
    public void fail(Throwable error) {}

    @Override
    public void close() {}
}

package org.jtune.parallel;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The collective operations between the workers of one data-parallel run: each worker holds one communicator, and
 * every worker calls the same collectives in the same order with buffers of the same sizes. Buffers are host memory.
 *
 * <p>A worker that fails calls {@link #fail}: every worker's pending and later collectives then throw
 * {@link WorkerFailedException} naming the failed worker and its error, so the run ends everywhere instead of hanging.
 */
public interface Communicator extends AutoCloseable {

    /** This worker's index, 0 to {@link #size()} - 1; worker 0 writes the run's files. */
    int rank();

    /** The number of workers. */
    int size();

    /**
     * Replaces each buffer of little-endian float32 values, in place, with the element-wise sum of the same buffer over
     * all workers (the buffers at the same list position have the same size everywhere). Every worker receives
     * bit-identical sums, so that what it computes from them next is the same on every worker.
     */
    void allReduceSum(List<MemorySegment> floatBuffers);

    /** Replaces each value, in place, with its sum over all workers, added in rank order in double precision. */
    void allReduceSum(double[] values);

    /** Copies the bytes of worker {@code root}'s buffer into the buffer of every other worker (same size). */
    void broadcast(MemorySegment bytes, int root);

    /** Returns once every worker has called it. */
    void barrier();

    /**
     * Ends the run on every worker with {@code error}, this worker's: the others' collectives throw
     * {@link WorkerFailedException}. Returns without waiting for them; calling it again, or after another worker
     * failed, changes nothing.
     */
    void fail(Throwable error);

    /** Leaves the group; the communicator takes no further collectives. */
    @Override
    void close();
}

package org.jtune.parallel;

import java.util.List;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;

/**
 * A communicator whose workers each hold a GPU, with collectives on device buffers that are queued on a stream of
 * the worker's GPU (the engine's own, so that they follow the work that wrote the buffers and precede the work that
 * reads them, without waiting on the host). The host-buffer collectives of {@link Communicator} work as well, through
 * the device; they wait for their result.
 *
 * <p>The queued collectives return before they have run. A failure that happens meanwhile (a worker died) surfaces
 * at the next collective that waits or the next {@link #checkHealth()}; once it has, the stream's later work reads
 * buffers that no collective completed.
 */
public interface DeviceCommunicator extends Communicator {

    /** The GPU context of this worker: every buffer and stream passed in belongs to it. */
    Context context();

    /**
     * Queues on {@code stream} the replacement of each buffer of float32 values, in place, by the element-wise sum of
     * the same buffer over all workers (the buffers at the same list position have the same size everywhere). Every
     * worker receives the same bits.
     */
    void allReduceSumAsync(List<DeviceBuffer> floatBuffers, Stream stream);

    /** Queues on {@code stream} the copy of worker {@code root}'s buffer into every other worker's (same size). */
    void broadcastAsync(DeviceBuffer bytes, int root, Stream stream);

    /**
     * Throws {@link WorkerFailedException} if a worker failed, or the collectives' error if one ended with an error
     * since the last check; otherwise returns at once.
     */
    void checkHealth();
}

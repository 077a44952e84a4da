package org.jtune.parallel.nccl;

import java.util.function.Consumer;
import org.jtune.parallel.WorkerFailedException;

/**
 * Hands the rendezvous's failure reports to the communicator, which exists only after the rendezvous: a failure that
 * comes before it is kept and aborts the communicator as soon as it is attached.
 */
final class FailureRelay implements Consumer<WorkerFailedException> {
    private NcclCommunicator target;
    private WorkerFailedException early;

    synchronized void attach(NcclCommunicator communicator) {
        target = communicator;
        if (early != null) {
            communicator.abortWith(early);
        }
    }

    @Override
    public void accept(WorkerFailedException failure) {
        NcclCommunicator t;
        synchronized (this) {
            if (target == null) {
                early = failure;
                return;
            }
            t = target;
        }
        t.abortWith(failure);
    }
}

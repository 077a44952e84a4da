package org.jtune.parallel.nccl;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.jtune.bindings.CudaDriver;
import org.jtune.bindings.nccl.Nccl;
import org.jtune.bindings.nccl.ncclUniqueId;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;
import org.jtune.parallel.DeviceCommunicator;
import org.jtune.parallel.Rendezvous;
import org.jtune.parallel.WorkerEnvironment;
import org.jtune.parallel.WorkerFailedException;

/**
 * One worker's NCCL communicator, on one GPU. It is non-blocking (NCCL's {@code blocking = 0}): every NCCL call
 * returns at once and this class polls for its completion, so that a worker's failure, learnt through the run's
 * {@link Rendezvous} on another thread, can abort the communicator ({@code ncclCommAbort}) at any moment; the
 * collectives this worker is waiting for then end, and throw {@link WorkerFailedException} naming the failed worker,
 * instead of waiting for it forever.
 *
 * <p>The host-buffer collectives go through pinned host memory and device memory of this communicator, on a stream
 * of its own, and wait for their result; the device ones are queued on the caller's stream. One thread uses a
 * communicator; only the failure path ({@link #abortWith}) comes from another.
 */
public final class NcclCommunicator implements DeviceCommunicator {
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int rank, size;
    private final Context context;
    /** Null for a run of one worker. */
    private final Rendezvous rendezvous;
    private final Stream hostStream;
    /** Serializes the calls on {@link #comm}, so that an abort from another thread falls between two of them. */
    private final Object calls = new Object();
    /** The {@code ncclComm_t}; NULL before init and once aborted or destroyed. Guarded by {@link #calls}. */
    private MemorySegment comm = MemorySegment.NULL;
    /** The failure that ended the run (this worker's or another's), once there is one. */
    private volatile WorkerFailedException failure;
    private PinnedBuffer hostStaging;
    private DeviceBuffer deviceStaging;
    private boolean closed;

    private NcclCommunicator(int rank, int size, Context context, Rendezvous rendezvous) {
        this.rank = rank;
        this.size = size;
        this.context = context;
        this.rendezvous = rendezvous;
        this.hostStream = context.createStream();
    }

    /** The id every worker's communicator is created from; worker 0 makes it and the rendezvous hands it out. */
    public static byte[] newUniqueId() {
        NcclLibrary.requireAvailable();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocate(ncclUniqueId.layout());
            int result = Nccl.ncclGetUniqueId(id);
            if (result != Nccl.ncclSuccess()) {
                throw NcclResults.failure(result, "ncclGetUniqueId", null);
            }
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** The communicator of a run of one worker, on {@code context}'s GPU: its collectives change no value. */
    public static NcclCommunicator single(Context context, Duration initTimeout) {
        return create(newUniqueId(), 0, 1, context, null, null, initTimeout);
    }

    /**
     * This worker's communicator in the run that {@code env} describes: worker 0 makes the id and hosts the
     * rendezvous at {@code MASTER_PORT}, the others join it at {@code MASTER_ADDR}; the rendezvous then stays open as
     * the run's failure channel. A run of one worker needs no rendezvous.
     *
     * @param context the GPU of this worker (the one {@code LOCAL_RANK} names)
     * @param timeout how long to wait for the other workers, at the rendezvous and again at NCCL's init
     * @throws IOException if the rendezvous fails (a worker does not come, another world size, ...)
     */
    public static NcclCommunicator connect(WorkerEnvironment env, Context context, Duration timeout)
            throws IOException {
        if (env.worldSize() == 1) {
            return single(context, timeout);
        }
        NcclLibrary.requireAvailable();
        FailureRelay relay = new FailureRelay();
        Rendezvous r = env.rank() == 0
                ? Rendezvous.host(env.masterPort(), env.worldSize(), newUniqueId(), timeout, relay)
                : Rendezvous.join(env.masterAddr(), env.masterPort(), env.rank(), env.worldSize(), timeout, relay);
        try {
            return create(r.id(), r.rank(), r.size(), context, r, relay, timeout);
        } catch (RuntimeException e) {
            r.fail(e);
            r.close();
            throw e;
        }
    }

    /**
     * Worker {@code rank} of {@code size}'s communicator from {@code id} (the same bytes on every worker), without a
     * rendezvous: the caller hands out the id and relays failures to {@link #abortWith}. Waits up to
     * {@code initTimeout} for the other workers' communicators.
     */
    public static NcclCommunicator create(byte[] id, int rank, int size, Context context, Duration initTimeout) {
        return create(id, rank, size, context, null, null, initTimeout);
    }

    private static NcclCommunicator create(byte[] id, int rank, int size, Context context, Rendezvous rendezvous,
                                           FailureRelay relay, Duration initTimeout) {
        NcclLibrary.requireAvailable();
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("worker " + rank + " of " + size + ": the rank must be in 0.."
                    + (size - 1));
        }
        if (id.length != Nccl.NCCL_UNIQUE_ID_BYTES()) {
            throw new IllegalArgumentException("an NCCL unique id has " + Nccl.NCCL_UNIQUE_ID_BYTES()
                    + " bytes, got " + id.length);
        }
        NcclCommunicator c = new NcclCommunicator(rank, size, context, rendezvous);
        if (relay != null) {
            relay.attach(c);
        }
        try {
            c.init(id, initTimeout);
        } catch (RuntimeException e) {
            c.abort();
            c.releaseMemory();
            throw e;
        }
        return c;
    }

    private void init(byte[] id, Duration timeout) {
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment idStruct = arena.allocate(ncclUniqueId.layout()).copyFrom(MemorySegment.ofArray(id));
            MemorySegment out = arena.allocate(Nccl.ncclComm_t);
            MemorySegment config = NcclConfig.nonBlocking(arena);
            int result;
            synchronized (calls) {
                requireNoFailure();
                result = Nccl.ncclCommInitRankConfig(out, size, idStruct, rank, config);
                comm = out.get(Nccl.ncclComm_t, 0);
            }
            if (NcclResults.isError(result)) {
                throw NcclResults.failure(result, "ncclCommInitRankConfig", comm);
            }
        }
        awaitCall("ncclCommInitRankConfig (worker " + rank + " of " + size + ")", System.nanoTime() + timeout.toNanos(),
                timeout);
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Context context() {
        return context;
    }

    // ---- collectives on device buffers, queued ----

    @Override
    public void allReduceSumAsync(List<DeviceBuffer> floatBuffers, Stream stream) {
        for (int b = 0; b < floatBuffers.size(); b++) {
            DeviceBuffer buffer = floatBuffers.get(b);
            requireOwn(buffer, "all-reduce buffer " + b);
            if (buffer.bytes() % Float.BYTES != 0) {
                throw new IllegalArgumentException("all-reduce buffer " + b + " has " + buffer.bytes()
                        + " bytes, not whole float32 values");
            }
        }
        requireOwn(stream);
        if (floatBuffers.isEmpty()) {
            return;
        }
        MemorySegment streamHandle = stream.handle();
        enqueue("ncclAllReduce", () -> {
            for (DeviceBuffer buffer : floatBuffers) {
                MemorySegment p = MemorySegment.ofAddress(buffer.address());
                NcclResults.check(Nccl.ncclAllReduce(p, p, buffer.bytes() / Float.BYTES, Nccl.ncclFloat32(),
                        Nccl.ncclSum(), comm, streamHandle), "ncclAllReduce", comm);
            }
        });
    }

    @Override
    public void broadcastAsync(DeviceBuffer bytes, int root, Stream stream) {
        requireRoot(root);
        requireOwn(bytes, "broadcast buffer");
        requireOwn(stream);
        MemorySegment streamHandle = stream.handle();
        enqueue("ncclBroadcast", () -> {
            MemorySegment p = MemorySegment.ofAddress(bytes.address());
            NcclResults.check(Nccl.ncclBroadcast(p, p, bytes.bytes(), Nccl.ncclUint8(), root, comm, streamHandle),
                    "ncclBroadcast", comm);
        });
    }

    // ---- collectives on host buffers, through the device, waited for ----

    @Override
    public void allReduceSum(List<MemorySegment> floatBuffers) {
        long total = 0;
        for (int b = 0; b < floatBuffers.size(); b++) {
            long n = floatBuffers.get(b).byteSize();
            if (n % Float.BYTES != 0) {
                throw new IllegalArgumentException("all-reduce buffer " + b + " has " + n
                        + " bytes, not whole float32 values");
            }
            total += n;
        }
        if (total == 0) {
            return;
        }
        MemorySegment host = hostStaging(total);
        long offset = 0;
        for (MemorySegment b : floatBuffers) {
            MemorySegment.copy(b, 0, host, offset, b.byteSize());
            offset += b.byteSize();
        }
        // The buffers go as one: one collective for the step, not one per tensor.
        DeviceBuffer device = deviceStaging(total).slice(0, total);
        roundTrip(host, device, () -> allReduceSumAsync(List.of(device), hostStream));
        offset = 0;
        for (MemorySegment b : floatBuffers) {
            MemorySegment.copy(host, offset, b, 0, b.byteSize());
            offset += b.byteSize();
        }
    }

    /**
     * Every worker's values reach every worker (one broadcast from each, grouped), and each worker adds them in rank
     * order: the same sum everywhere, in the order {@link org.jtune.parallel.Communicator} promises, which NCCL's
     * own all-reduce does not keep.
     */
    @Override
    public void allReduceSum(double[] values) {
        int n = values.length;
        if (n == 0) {
            return;
        }
        long slot = (long) Double.BYTES * n, total = slot * size;
        MemorySegment host = hostStaging(total);
        MemorySegment.copy(values, 0, host, F64, slot * rank, n);
        DeviceBuffer device = deviceStaging(total).slice(0, total);
        roundTrip(host, device, () -> {
            MemorySegment streamHandle = hostStream.handle();
            enqueue("ncclBroadcast", () -> {
                for (int r = 0; r < size; r++) {
                    MemorySegment p = MemorySegment.ofAddress(device.address() + slot * r);
                    NcclResults.check(Nccl.ncclBroadcast(p, p, slot, Nccl.ncclUint8(), r, comm, streamHandle),
                            "ncclBroadcast", comm);
                }
            });
        });
        double[] sums = new double[n];
        for (int r = 0; r < size; r++) {
            for (int i = 0; i < n; i++) {
                double v = host.getAtIndex(F64, (long) r * n + i);
                sums[i] = r == 0 ? v : sums[i] + v;
            }
        }
        System.arraycopy(sums, 0, values, 0, n);
    }

    @Override
    public void broadcast(MemorySegment bytes, int root) {
        requireRoot(root);
        long n = bytes.byteSize();
        if (n == 0) {
            return;
        }
        MemorySegment host = hostStaging(n);
        MemorySegment.copy(bytes, 0, host, 0, n);
        DeviceBuffer device = deviceStaging(n).slice(0, n);
        roundTrip(host, device, () -> broadcastAsync(device, root, hostStream));
        if (rank != root) {
            MemorySegment.copy(host, 0, bytes, 0, n);
        }
    }

    /** An all-reduce of one value: it completes on no worker before every worker has called it. */
    @Override
    public void barrier() {
        DeviceBuffer one = deviceStaging(Float.BYTES).slice(0, Float.BYTES);
        allReduceSumAsync(List.of(one), hostStream);
        awaitStream(hostStream);
    }

    /** Copies {@code host} to {@code device}, runs {@code collective} on the host stream, copies back, and waits. */
    private void roundTrip(MemorySegment host, DeviceBuffer device, Runnable collective) {
        MemorySegment part = host.asSlice(0, device.bytes());
        device.copyFromHostAsync(part, hostStream);
        collective.run();
        device.copyToHostAsync(part, hostStream);
        awaitStream(hostStream);
    }

    // ---- failure ----

    /**
     * Tells the other workers (through the rendezvous) that this one failed with {@code error} and aborts this
     * worker's communicator: its later collectives throw {@link WorkerFailedException}.
     */
    @Override
    public void fail(Throwable error) {
        if (rendezvous != null) {
            rendezvous.fail(error);
        }
        abortWith(new WorkerFailedException(rank, size, WorkerFailedException.describe(error), error));
    }

    /**
     * Ends this worker's part in the run because of {@code failure} (another worker's, as the rendezvous reports
     * it): aborts the communicator, which ends the collectives in flight; this and later collectives throw it.
     * Callable from any thread; the first failure is the one reported.
     */
    public void abortWith(WorkerFailedException failure) {
        synchronized (calls) {
            if (this.failure == null) {
                this.failure = failure;
            }
        }
        abort();
    }

    @Override
    public void checkHealth() {
        requireNoFailure();
        int state;
        synchronized (calls) {
            requireNoFailure();
            requireOpen();
            state = asyncState();
        }
        if (NcclResults.isError(state)) {
            NcclException e = NcclResults.failure(state, "a collective (ncclCommGetAsyncError)", comm);
            abort();
            throw e;
        }
    }

    private void requireNoFailure() {
        WorkerFailedException f = failure;
        if (f != null) {
            // A new exception for each throw, so that its trace says where this worker met the failure.
            throw new WorkerFailedException(f.failedRank(), size, failureText(f), f.getCause());
        }
    }

    /** The failed worker's error, without the "worker N of M failed: " the exception's message starts with. */
    private static String failureText(WorkerFailedException f) {
        String message = f.getMessage();
        int colon = message.indexOf(": ");
        return colon < 0 ? message : message.substring(colon + 2);
    }

    /** Aborts the communicator unless it is gone already: what NCCL has in flight on it ends. */
    private void abort() {
        synchronized (calls) {
            if (comm.equals(MemorySegment.NULL)) {
                return;
            }
            context.makeCurrent();
            Nccl.ncclCommAbort(comm); // always blocking; nothing to do about its result but go on
            comm = MemorySegment.NULL;
        }
    }

    // ---- waiting ----

    /** Runs {@code calls} (NCCL calls on {@link #comm}) as one group and waits until NCCL has queued them. */
    private void enqueue(String call, Runnable ncclCalls) {
        context.makeCurrent();
        synchronized (calls) {
            requireNoFailure();
            requireOpen();
            NcclResults.check(GroupCalls.START.apply(), "ncclGroupStart", comm);
            try {
                ncclCalls.run();
            } finally {
                int end = GroupCalls.END.apply();
                if (NcclResults.isError(end)) {
                    throw NcclResults.failure(end, "ncclGroupEnd after " + call, comm);
                }
            }
        }
        awaitCall(call, 0, null); // no deadline: a collective waits for the others as long as none failed
    }

    /**
     * Polls the communicator until its last call is done ({@code ncclInProgress} no more), a worker failed, or
     * {@code deadline} (System.nanoTime) passed; a null {@code timeout} means no deadline.
     */
    private void awaitCall(String call, long deadline, Duration timeout) {
        Pause pause = new Pause();
        while (true) {
            int state;
            synchronized (calls) {
                requireNoFailure();
                requireOpen();
                state = asyncState();
            }
            if (state == Nccl.ncclSuccess()) {
                return;
            }
            if (state != Nccl.ncclInProgress()) {
                NcclException e = NcclResults.failure(state, call, comm);
                abort();
                throw e;
            }
            if (timeout != null && System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(call + " did not complete within " + timeout.toSeconds()
                        + " s: not every worker of the run reached it");
            }
            pause.pause();
        }
    }

    /**
     * Waits until {@code stream} has run everything queued on it, checking meanwhile that no worker failed (an abort
     * ends the collective kernels the stream waits for) and that NCCL reports no asynchronous error.
     */
    private void awaitStream(Stream stream) {
        Pause pause = new Pause();
        while (true) {
            int result = CudaDriver.cuStreamQuery(stream.handle());
            if (result == CudaDriver.CUDA_SUCCESS()) {
                break;
            }
            if (result != CudaDriver.CUDA_ERROR_NOT_READY()) {
                requireNoFailure(); // an abort's consequence is reported as the failure that caused it
                stream.synchronize(); // throws the driver's error, named
                break;
            }
            checkHealth();
            pause.pause();
        }
        checkHealth();
    }

    /**
     * nccl.h declares the group calls with empty parentheses, which C reads as "any arguments", so the bindings
     * give them as variadic functions, called through an invoker made once for no arguments.
     */
    private static final class GroupCalls {
        static final Nccl.ncclGroupStart START = Nccl.ncclGroupStart.makeInvoker();
        static final Nccl.ncclGroupEnd END = Nccl.ncclGroupEnd.makeInvoker();
    }

    /** Spins briefly (collectives of small buffers end in microseconds), then sleeps in growing steps up to 1 ms. */
    private static final class Pause {
        private int rounds;

        void pause() {
            if (rounds++ < 100) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(Math.min(1_000_000L, 1_000L * (rounds - 100)));
            }
        }
    }

    /** NCCL's state of the communicator's last call; caller holds {@link #calls}, the communicator is open. */
    private int asyncState() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            int result = Nccl.ncclCommGetAsyncError(comm, out);
            return NcclResults.isError(result) ? result : out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    // ---- checks, memory ----

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("NCCL communicator of worker " + rank + " used after close");
        }
        if (comm.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("NCCL communicator of worker " + rank + " was aborted");
        }
    }

    private void requireRoot(int root) {
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("broadcast from worker " + root + " in a group of " + size);
        }
    }

    private void requireOwn(DeviceBuffer buffer, String what) {
        if (buffer.context() != context) {
            throw new IllegalArgumentException(what + " is on GPU " + buffer.context().device().ordinal()
                    + ", the communicator of worker " + rank + " on GPU " + context.device().ordinal());
        }
    }

    private void requireOwn(Stream stream) {
        if (stream.context() != context) {
            throw new IllegalArgumentException("stream of GPU " + stream.context().device().ordinal()
                    + " given to the communicator of worker " + rank + " on GPU " + context.device().ordinal());
        }
    }

    private MemorySegment hostStaging(long bytes) {
        if (hostStaging == null || hostStaging.segment().byteSize() < bytes) {
            if (hostStaging != null) {
                hostStaging.close();
                hostStaging = null;
            }
            hostStaging = context.allocatePinned(bytes);
        }
        return hostStaging.segment();
    }

    private DeviceBuffer deviceStaging(long bytes) {
        if (deviceStaging == null || deviceStaging.bytes() < bytes) {
            if (deviceStaging != null) {
                deviceStaging.close();
                deviceStaging = null;
            }
            deviceStaging = context.allocate(bytes);
        }
        return deviceStaging;
    }

    /**
     * Destroys the communicator (aborts it where a worker failed, as destroying would wait for the dead), frees its
     * memory and says goodbye to the other workers.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        int result = Nccl.ncclSuccess();
        synchronized (calls) {
            closed = true;
            if (!comm.equals(MemorySegment.NULL)) {
                context.makeCurrent();
                result = failure == null ? Nccl.ncclCommDestroy(comm) : Nccl.ncclCommAbort(comm);
                comm = MemorySegment.NULL;
            }
        }
        releaseMemory();
        if (rendezvous != null) {
            rendezvous.close();
        }
        if (NcclResults.isError(result)) {
            throw NcclResults.failure(result, "ncclCommDestroy", MemorySegment.NULL);
        }
    }

    private void releaseMemory() {
        if (deviceStaging != null) {
            deviceStaging.close();
            deviceStaging = null;
        }
        if (hostStaging != null) {
            hostStaging.close();
            hostStaging = null;
        }
        hostStream.close();
    }
}

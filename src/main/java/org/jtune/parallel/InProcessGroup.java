package org.jtune.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Workers of one run as threads of this JVM, each with its own communicator over shared memory (and its own engine):
 * the data-parallel logic runs on the CPU engine as it would across GPUs. Worker 0 sums the buffers in rank order
 * and the others copy its result, so every worker holds the same bits, as NCCL's all-reduce gives them.
 */
public final class InProcessGroup {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The work of one worker. */
    @FunctionalInterface
    public interface Worker<T> {
        T run(Communicator communicator) throws Exception;
    }

    private final int size;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition allArrived = lock.newCondition();
    /** What each worker brought to the collective in progress. */
    private final Object[] slots;
    private int waiting;
    private long generation;
    private int failedRank = -1;
    private Throwable failure;

    private InProcessGroup(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("a group needs at least one worker, got " + size);
        }
        this.size = size;
        this.slots = new Object[size];
    }

    /** The communicators of {@code size} workers, in rank order; each is to be used by one thread. */
    public static List<Communicator> communicators(int size) {
        InProcessGroup group = new InProcessGroup(size);
        List<Communicator> all = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            all.add(group.new Member(r));
        }
        return all;
    }

    /**
     * Runs {@code worker} on {@code size} threads, one per rank, and returns their results in rank order. A worker
     * that throws fails the group, so the others stop at their next collective.
     *
     * @throws WorkerFailedException naming the first worker that failed, with its exception as the cause
     */
    public static <T> List<T> run(int size, Worker<T> worker) throws InterruptedException {
        List<Communicator> communicators = communicators(size);
        List<T> results = new ArrayList<>();
        Throwable[] errors = new Throwable[size];
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            results.add(null);
            int rank = r;
            Communicator c = communicators.get(r);
            threads.add(Thread.ofPlatform().name("worker-" + r).start(() -> {
                try (c) {
                    results.set(rank, worker.run(c));
                } catch (Throwable e) {
                    errors[rank] = e;
                    c.fail(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        InProcessGroup group = ((Member) communicators.get(0)).group();
        if (group.failure != null) {
            WorkerFailedException e = new WorkerFailedException(group.failedRank, size,
                    WorkerFailedException.describe(group.failure), group.failure);
            for (int r = 0; r < size; r++) {
                if (r != group.failedRank && errors[r] != null) {
                    e.addSuppressed(errors[r]);
                }
            }
            throw e;
        }
        return results;
    }

    /** Waits until every worker has arrived; throws if a worker failed before they all did. */
    private void await() {
        lock.lock();
        try {
            requireNoFailure();
            long arrivedIn = generation;
            if (++waiting == size) {
                waiting = 0;
                generation++;
                allArrived.signalAll();
                return;
            }
            while (generation == arrivedIn && failure == null) {
                allArrived.awaitUninterruptibly();
            }
            if (generation == arrivedIn) {
                requireNoFailure();
            }
        } finally {
            lock.unlock();
        }
    }

    private void requireNoFailure() {
        if (failure != null) {
            throw new WorkerFailedException(failedRank, size, WorkerFailedException.describe(failure), failure);
        }
    }

    private void fail(int rank, Throwable error) {
        lock.lock();
        try {
            if (failure == null) {
                failure = error;
                failedRank = rank;
                allArrived.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    private final class Member implements Communicator {
        private final int rank;

        Member(int rank) {
            this.rank = rank;
        }

        InProcessGroup group() {
            return InProcessGroup.this;
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
        public void allReduceSum(List<MemorySegment> floatBuffers) {
            slots[rank] = floatBuffers;
            await();
            if (rank == 0) {
                guarded(this::sumIntoRankZero);
            }
            await();
            if (rank != 0) {
                @SuppressWarnings("unchecked")
                List<MemorySegment> sums = (List<MemorySegment>) slots[0];
                for (int b = 0; b < floatBuffers.size(); b++) {
                    floatBuffers.get(b).copyFrom(sums.get(b));
                }
            }
            await();
        }

        /** Worker 0's buffers become the sums, added in rank order in float32 as a GPU all-reduce adds. */
        private void sumIntoRankZero() {
            @SuppressWarnings("unchecked")
            List<MemorySegment> own = (List<MemorySegment>) slots[0];
            for (int r = 1; r < size; r++) {
                @SuppressWarnings("unchecked")
                List<MemorySegment> other = (List<MemorySegment>) slots[r];
                requireSameShape(own, other, r);
            }
            for (int b = 0; b < own.size(); b++) {
                MemorySegment sum = own.get(b);
                long n = sum.byteSize() / Float.BYTES;
                for (int r = 1; r < size; r++) {
                    @SuppressWarnings("unchecked")
                    MemorySegment add = ((List<MemorySegment>) slots[r]).get(b);
                    for (long i = 0; i < n; i++) {
                        sum.setAtIndex(F32, i, sum.getAtIndex(F32, i) + add.getAtIndex(F32, i));
                    }
                }
            }
        }

        private static void requireSameShape(List<MemorySegment> own, List<MemorySegment> other, int rank) {
            if (other.size() != own.size()) {
                throw new IllegalArgumentException("all-reduce of " + own.size() + " buffers on worker 0 but "
                        + other.size() + " on worker " + rank);
            }
            for (int b = 0; b < own.size(); b++) {
                if (own.get(b).byteSize() != other.get(b).byteSize() || own.get(b).byteSize() % Float.BYTES != 0) {
                    throw new IllegalArgumentException("all-reduce buffer " + b + " has " + own.get(b).byteSize()
                            + " bytes on worker 0 and " + other.get(b).byteSize() + " on worker " + rank
                            + " (whole float32 values, the same on every worker)");
                }
            }
        }

        @Override
        public void allReduceSum(double[] values) {
            slots[rank] = values;
            await();
            double[] sums = new double[values.length];
            for (int r = 0; r < size; r++) {
                double[] add = (double[]) slots[r];
                if (add.length != values.length) {
                    RuntimeException e = new IllegalArgumentException("all-reduce of " + values.length
                            + " values on worker " + rank + " but " + add.length + " on worker " + r);
                    fail(e);
                    throw e;
                }
                for (int i = 0; i < sums.length; i++) {
                    sums[i] = r == 0 ? add[i] : sums[i] + add[i];
                }
            }
            await();
            System.arraycopy(sums, 0, values, 0, values.length);
        }

        @Override
        public void broadcast(MemorySegment bytes, int root) {
            if (root < 0 || root >= size) {
                throw new IllegalArgumentException("broadcast from worker " + root + " in a group of " + size);
            }
            slots[rank] = bytes;
            await();
            if (rank != root) {
                MemorySegment from = (MemorySegment) slots[root];
                if (from.byteSize() != bytes.byteSize()) {
                    RuntimeException e = new IllegalArgumentException("broadcast of " + from.byteSize()
                            + " bytes from worker " + root + " into " + bytes.byteSize() + " on worker " + rank);
                    fail(e);
                    throw e;
                }
                bytes.copyFrom(from);
            }
            await();
        }

        @Override
        public void barrier() {
            await();
        }

        @Override
        public void fail(Throwable error) {
            InProcessGroup.this.fail(rank, error);
        }

        /** Leaves nothing to release: the memory is the workers' own. */
        @Override
        public void close() {}

        /** Runs a step of a collective; its error fails the group, so that no worker waits for this one forever. */
        private void guarded(Runnable step) {
            try {
                step.run();
            } catch (RuntimeException e) {
                fail(e);
                throw e;
            }
        }
    }
}

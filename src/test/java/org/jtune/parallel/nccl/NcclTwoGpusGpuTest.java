package org.jtune.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.parallel.WorkerEnvironment;
import org.jtune.parallel.WorkerFailedException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two workers on GPUs 0 and 1, as threads of this JVM that meet through the TCP rendezvous on 127.0.0.1 (as two
 * processes would): the sums are the float32 sums of both workers' values on both, and a worker's failure ends the
 * other's waiting collective with its error. Needs a host with 2 GPUs and NCCL; skipped elsewhere.
 */
@GpuTest
class NcclTwoGpusGpuTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @BeforeEach
    void needsTwoGpusAndNccl() {
        assumeTrue(NcclLibrary.isAvailable(), "NCCL test skipped: " + NcclLibrary.status().reason());
        assumeTrue(Device.count() >= 2, "needs 2 GPUs, found " + Device.count());
    }

    /** What one worker saw. */
    private record Seen(float[][] device, float[][] host, double[] doubles, byte[] broadcast) {}

    @Test
    void collectivesOfTwoWorkersAreTheSumsAndCopiesOfBothWorkersValues() throws Exception {
        SplittableRandom random = new SplittableRandom();
        int[] sizes = {1, 4099, 1 << 20};
        float[][][] deviceIn = new float[2][][], hostIn = new float[2][][];
        double[][] doublesIn = new double[2][];
        byte[][] bytesIn = new byte[2][];
        for (int r = 0; r < 2; r++) {
            deviceIn[r] = new float[sizes.length][];
            hostIn[r] = new float[sizes.length][];
            for (int b = 0; b < sizes.length; b++) {
                deviceIn[r][b] = NcclTestData.floats(random, sizes[b]);
                hostIn[r][b] = NcclTestData.floats(random, sizes[b]);
            }
            doublesIn[r] = random.doubles(33, -1e6, 1e6).toArray();
            bytesIn[r] = new byte[10_001];
            random.nextBytes(bytesIn[r]);
        }
        int port = freePort();
        List<Seen> seen = runTwo(rank -> {
            Context context = Context.primary(Device.get(rank));
            WorkerEnvironment env = new WorkerEnvironment("127.0.0.1", port, rank, 2, rank);
            try (NcclCommunicator c = NcclCommunicator.connect(env, context, TIMEOUT);
                 Stream stream = context.createStream()) {
                List<DeviceBuffer> buffers = new ArrayList<>();
                for (float[] v : deviceIn[rank]) {
                    buffers.add(NcclTestData.upload(context, v));
                }
                c.allReduceSumAsync(buffers, stream);
                stream.synchronize();
                c.checkHealth();
                float[][] device = new float[sizes.length][];
                for (int b = 0; b < sizes.length; b++) {
                    device[b] = NcclTestData.download(buffers.get(b), sizes[b]);
                    buffers.get(b).close();
                }
                List<MemorySegment> segments = new ArrayList<>();
                for (float[] v : hostIn[rank]) {
                    segments.add(MemorySegment.ofArray(v.clone()));
                }
                c.allReduceSum(segments);
                float[][] host = new float[sizes.length][];
                for (int b = 0; b < sizes.length; b++) {
                    host[b] = segments.get(b).toArray(ValueLayout.JAVA_FLOAT);
                }
                double[] doubles = doublesIn[rank].clone();
                c.allReduceSum(doubles);
                byte[] bytes = bytesIn[rank].clone();
                c.broadcast(MemorySegment.ofArray(bytes), 1);
                c.barrier();
                return new Seen(device, host, doubles, bytes);
            }
        });
        for (int r = 0; r < 2; r++) {
            Seen s = seen.get(r);
            for (int b = 0; b < sizes.length; b++) {
                assertArrayEquals(NcclTestData.bits(sum(deviceIn[0][b], deviceIn[1][b])), NcclTestData.bits(s.device()[b]),
                        "device all-reduce, buffer " + b + ", worker " + r);
                assertArrayEquals(NcclTestData.bits(sum(hostIn[0][b], hostIn[1][b])), NcclTestData.bits(s.host()[b]),
                        "host all-reduce, buffer " + b + ", worker " + r);
            }
            for (int i = 0; i < doublesIn[0].length; i++) {
                assertEquals(doublesIn[0][i] + doublesIn[1][i], s.doubles()[i], 0.0, "double sum " + i + ", worker " + r);
            }
            assertArrayEquals(bytesIn[1], s.broadcast(), "broadcast from worker 1, worker " + r);
        }
    }

    /** The float32 sum of two floats: one rounding of their exact sum, which a double holds. */
    private static float[] sum(float[] a, float[] b) {
        float[] s = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = (float) ((double) a[i] + (double) b[i]);
        }
        return s;
    }

    @Test
    void aFailingWorkerEndsTheOthersWaitingAllReduceWithItsError() throws Exception {
        int port = freePort();
        long[] waited = new long[1];
        List<Object> outcomes = runTwoCatching(rank -> {
            Context context = Context.primary(Device.get(rank));
            WorkerEnvironment env = new WorkerEnvironment("127.0.0.1", port, rank, 2, rank);
            try (NcclCommunicator c = NcclCommunicator.connect(env, context, TIMEOUT)) {
                if (rank == 1) {
                    Thread.sleep(1000); // worker 0 is in its all-reduce by now, waiting for this one
                    c.fail(new IllegalStateException("worker 1 ran out of data"));
                    return "failed";
                }
                long start = System.nanoTime();
                try {
                    c.allReduceSum(List.of(MemorySegment.ofArray(new float[1 << 16])));
                    return "the all-reduce completed without worker 1";
                } finally {
                    waited[0] = System.nanoTime() - start;
                }
            }
        });
        assertEquals("failed", outcomes.get(1));
        WorkerFailedException e = assertInstanceOf(WorkerFailedException.class, outcomes.get(0), String.valueOf(outcomes.get(0)));
        assertEquals(1, e.failedRank());
        assertTrue(e.getMessage().endsWith("IllegalStateException: worker 1 ran out of data"), e.getMessage());
        assertTrue(waited[0] < TimeUnit.SECONDS.toNanos(30), "ended after " + waited[0] / 1e9 + " s");
    }

    @FunctionalInterface
    private interface Worker<T> {
        T run(int rank) throws Exception;
    }

    private static <T> List<T> runTwo(Worker<T> worker) throws Exception {
        List<Object> outcomes = runTwoCatching(worker);
        List<T> results = new ArrayList<>();
        for (Object o : outcomes) {
            if (o instanceof Throwable t) {
                throw new AssertionError("a worker failed", t);
            }
            @SuppressWarnings("unchecked")
            T r = (T) o;
            results.add(r);
        }
        return results;
    }

    /** Each worker's result, or what it threw. */
    private static List<Object> runTwoCatching(Worker<?> worker) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                futures.add(pool.submit(() -> worker.run(rank)));
            }
            List<Object> outcomes = new ArrayList<>();
            for (Future<?> f : futures) {
                try {
                    outcomes.add(f.get(120, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    outcomes.add(e.getCause());
                } catch (java.util.concurrent.TimeoutException e) {
                    outcomes.add(new AssertionError("a worker hung for 120 s"));
                }
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}

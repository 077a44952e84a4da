package org.jtune.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.parallel.WorkerFailedException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The NCCL communicator of a run of one worker on GPU 0 (NCCL must be found: its folder on LD_LIBRARY_PATH): its
 * collectives leave every bit as it was, through the same calls a run of several makes; a failure aborts it.
 */
@GpuTest
class NcclCommunicatorGpuTest {
    private static final Duration INIT = Duration.ofSeconds(60);

    @BeforeEach
    void needsNccl() {
        assumeTrue(NcclLibrary.isAvailable(), "NCCL test skipped: " + NcclLibrary.status().reason());
    }

    private static Context context() {
        return Context.primary(Device.get(0));
    }

    @Test
    void allReduceOfOneWorkerIsTheIdentityOnDeviceAndHost() {
        SplittableRandom random = new SplittableRandom();
        Context context = context();
        try (NcclCommunicator c = NcclCommunicator.single(context, INIT); Stream stream = context.createStream()) {
            assertEquals(0, c.rank());
            assertEquals(1, c.size());
            assertEquals(context, c.context());
            int[] sizes = {1, 1000, 65_537};
            List<float[]> values = new ArrayList<>();
            List<DeviceBuffer> buffers = new ArrayList<>();
            for (int n : sizes) {
                float[] v = NcclTestData.floats(random, n);
                values.add(v);
                buffers.add(NcclTestData.upload(context, v));
            }
            c.allReduceSumAsync(buffers, stream);
            stream.synchronize();
            c.checkHealth();
            for (int b = 0; b < sizes.length; b++) {
                assertArrayEquals(NcclTestData.bits(values.get(b)),
                        NcclTestData.bits(NcclTestData.download(buffers.get(b), sizes[b])), "device buffer " + b);
                buffers.get(b).close();
            }

            List<float[]> host = new ArrayList<>();
            List<MemorySegment> segments = new ArrayList<>();
            for (int n : sizes) {
                float[] v = NcclTestData.floats(random, n);
                host.add(v.clone());
                segments.add(MemorySegment.ofArray(v));
            }
            c.allReduceSum(segments);
            for (int b = 0; b < sizes.length; b++) {
                assertArrayEquals(NcclTestData.bits(host.get(b)), NcclTestData.bits(segments.get(b)
                        .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)), "host buffer " + b);
            }

            double[] d = random.doubles(17).toArray(), before = d.clone();
            c.allReduceSum(d);
            assertArrayEquals(before, d, 0.0);
        }
    }

    @Test
    void broadcastOfOneWorkerKeepsItsBytesAndRefusesAnotherRoot() {
        SplittableRandom random = new SplittableRandom();
        Context context = context();
        try (NcclCommunicator c = NcclCommunicator.single(context, INIT); Stream stream = context.createStream()) {
            float[] v = NcclTestData.floats(random, 3001);
            DeviceBuffer buffer = NcclTestData.upload(context, v);
            c.broadcastAsync(buffer, 0, stream);
            stream.synchronize();
            assertArrayEquals(NcclTestData.bits(v), NcclTestData.bits(NcclTestData.download(buffer, v.length)));

            byte[] bytes = new byte[777];
            random.nextBytes(bytes);
            byte[] before = bytes.clone();
            c.broadcast(MemorySegment.ofArray(bytes), 0);
            assertArrayEquals(before, bytes);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.broadcastAsync(buffer, 1, stream));
            assertTrue(e.getMessage().contains("worker 1 in a group of 1"), e.getMessage());
            buffer.close();
            c.barrier();
            c.barrier();
        }
    }

    @Test
    void partialFloatsAreRefusedBeforeAnythingIsQueued() {
        Context context = context();
        try (NcclCommunicator c = NcclCommunicator.single(context, INIT); Stream stream = context.createStream();
             DeviceBuffer odd = context.allocate(6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.allReduceSumAsync(List.of(odd), stream));
            assertTrue(e.getMessage().contains("6 bytes"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> c.allReduceSum(List.of(MemorySegment.ofArray(new byte[5]))));
            c.barrier(); // still usable
        }
    }

    @Test
    void failureAbortsAndEveryLaterCollectiveNamesIt() {
        Context context = context();
        try (NcclCommunicator c = NcclCommunicator.single(context, INIT); Stream stream = context.createStream();
             DeviceBuffer buffer = context.allocate(4096)) {
            c.barrier();
            c.fail(new IllegalStateException("the batch was empty"));
            List<Runnable> collectives = List.of(
                    () -> c.allReduceSum(List.of(MemorySegment.ofArray(new float[8]))),
                    () -> c.allReduceSum(new double[3]),
                    () -> c.broadcast(MemorySegment.ofArray(new byte[8]), 0),
                    () -> c.allReduceSumAsync(List.of(buffer), stream),
                    () -> c.broadcastAsync(buffer, 0, stream),
                    c::barrier,
                    c::checkHealth);
            for (Runnable collective : collectives) {
                WorkerFailedException e = assertThrows(WorkerFailedException.class, collective::run);
                assertEquals(0, e.failedRank());
                assertEquals("worker 0 of 1 failed: IllegalStateException: the batch was empty", e.getMessage());
            }
        }
    }

    @Test
    void anotherWorkersFailureReportedToThisOneAbortsIt() {
        Context context = context();
        try (NcclCommunicator c = NcclCommunicator.single(context, INIT)) {
            c.abortWith(new WorkerFailedException(0, 1, "OutOfMemoryError: GPU 3", null));
            c.abortWith(new WorkerFailedException(0, 1, "a later report, not the first", null));
            WorkerFailedException e = assertThrows(WorkerFailedException.class, c::barrier);
            assertTrue(e.getMessage().endsWith("OutOfMemoryError: GPU 3"), e.getMessage());
        }
    }
}

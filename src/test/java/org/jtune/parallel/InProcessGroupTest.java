package org.jtune.parallel;

import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The collectives of workers as threads: sums against a double-precision reference, broadcast, failures. */
class InProcessGroupTest extends TestFixture {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @Test
    void allReduceGivesEveryWorkerTheSameSums() throws Exception {
        int workers = 3;
        int[] sizes = {1, 1000, 37};
        float[][][] inputs = new float[workers][sizes.length][];
        for (int w = 0; w < workers; w++) {
            for (int b = 0; b < sizes.length; b++) {
                inputs[w][b] = new float[sizes[b]];
                for (int i = 0; i < sizes[b]; i++) {
                    inputs[w][b][i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
                }
            }
        }
        double[][] doubles = new double[workers][5];
        for (double[] d : doubles) {
            for (int i = 0; i < d.length; i++) {
                d[i] = rnd.nextGaussian();
            }
        }
        double[] expected = new double[5];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = doubles[0][i] + doubles[1][i] + doubles[2][i];
        }
        List<float[][]> out = assertTimeoutPreemptively(LIMIT, () -> InProcessGroup.run(workers, c -> {
            List<MemorySegment> buffers = new ArrayList<>();
            for (float[] values : inputs[c.rank()]) {
                MemorySegment s = arena.allocate((long) values.length * Float.BYTES);
                MemorySegment.copy(values, 0, s, F32, 0, values.length);
                buffers.add(s);
            }
            c.allReduceSum(buffers);
            c.allReduceSum(doubles[c.rank()]);
            float[][] sums = new float[sizes.length][];
            for (int b = 0; b < sizes.length; b++) {
                sums[b] = buffers.get(b).toArray(F32);
            }
            return sums;
        }));
        for (int b = 0; b < sizes.length; b++) {
            for (int i = 0; i < sizes[b]; i++) {
                double reference = 0, magnitude = 0;
                for (int w = 0; w < workers; w++) {
                    reference += inputs[w][b][i];
                    magnitude += Math.abs(inputs[w][b][i]);
                }
                float got = out.get(0)[b][i];
                // two float32 additions: each rounds by at most half an ulp of the partial sum
                assertEquals(reference, got, 2 * Math.ulp((float) magnitude), "seed " + seed + ", buffer " + b);
            }
            for (int w = 1; w < workers; w++) {
                assertArrayEquals(out.get(0)[b], out.get(w)[b], 0f, "worker " + w + " holds worker 0's bits");
            }
        }
        for (int w = 0; w < workers; w++) {
            assertArrayEquals(expected, doubles[w], 0, "rank-order sum, worker " + w);
        }
    }

    @Test
    void broadcastCopiesTheRootsBytes() throws Exception {
        byte[][] data = new byte[4][64];
        for (byte[] d : data) {
            rnd.nextBytes(d);
        }
        int root = rnd.nextInt(4);
        List<byte[]> out = assertTimeoutPreemptively(LIMIT, () -> InProcessGroup.run(4, c -> {
            MemorySegment s = arena.allocate(64);
            s.copyFrom(MemorySegment.ofArray(data[c.rank()]));
            c.broadcast(s, root);
            c.barrier();
            return s.toArray(ValueLayout.JAVA_BYTE);
        }));
        for (byte[] b : out) {
            assertArrayEquals(data[root], b);
        }
    }

    @Test
    void aFailureReachesWorkersWaitingInACollective() {
        CountDownLatch othersWaiting = new CountDownLatch(1);
        WorkerFailedException e = assertThrows(WorkerFailedException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> InProcessGroup.run(3, c -> {
                    if (c.rank() == 2) {
                        othersWaiting.await();
                        Thread.sleep(50);
                        throw new ArithmeticException("worker two's own error");
                    }
                    othersWaiting.countDown();
                    c.barrier();
                    return null;
                })));
        assertEquals(2, e.failedRank());
        assertInstanceOf(ArithmeticException.class, e.getCause());
        assertTrue(e.getMessage().endsWith("worker 2 of 3 failed: ArithmeticException: worker two's own error"),
                e.getMessage());
        assertEquals(2, e.getSuppressed().length);
        for (Throwable s : e.getSuppressed()) {
            assertEquals(2, assertInstanceOf(WorkerFailedException.class, s).failedRank());
        }
    }

    @Test
    void mismatchedBuffersFailTheGroupInsteadOfHanging() {
        WorkerFailedException e = assertThrows(WorkerFailedException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> InProcessGroup.run(2, c -> {
                    c.allReduceSum(List.of(arena.allocate(4L * (c.rank() + 1))));
                    return null;
                })));
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("4 bytes on worker 0 and 8 on worker 1"), e.getMessage());
    }

    @Test
    void oneWorkerLeavesItsBuffersAsTheyAre() {
        MemorySegment s = arena.allocate(8);
        s.setAtIndex(F32, 0, 1.5f);
        s.setAtIndex(F32, 1, -2.25f);
        SingleCommunicator.INSTANCE.allReduceSum(List.of(s));
        double[] d = {3.5};
        SingleCommunicator.INSTANCE.allReduceSum(d);
        assertArrayEquals(new float[] {1.5f, -2.25f}, s.toArray(F32));
        assertArrayEquals(new double[] {3.5}, d);
        assertThrows(IllegalArgumentException.class, () -> SingleCommunicator.INSTANCE.broadcast(s, 1));
    }
}

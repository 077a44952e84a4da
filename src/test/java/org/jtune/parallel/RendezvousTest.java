package org.jtune.parallel;

import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TCP rendezvous on this host: workers as threads, and one as a child JVM that is killed. */
class RendezvousTest extends TestFixture {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The workers of one rendezvous, each with the failure its process was told of. */
    private record Group(List<Rendezvous> workers, List<CompletableFuture<WorkerFailedException>> failures) {
        void close() {
            workers.forEach(Rendezvous::close);
        }
    }

    /** Worker 0 and the workers of {@code threadRanks} as threads of this process. */
    private Group start(int port, int size, byte[] id, List<Integer> threadRanks) throws Exception {
        List<CompletableFuture<WorkerFailedException>> failures = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            failures.add(new CompletableFuture<>());
        }
        List<CompletableFuture<Rendezvous>> joined = new ArrayList<>();
        for (int r : threadRanks) {
            joined.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return Rendezvous.join("127.0.0.1", port, r, size, TIMEOUT, failures.get(r)::complete);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        List<Rendezvous> workers = new ArrayList<>();
        workers.add(Rendezvous.host(port, size, id, TIMEOUT, failures.get(0)::complete));
        for (CompletableFuture<Rendezvous> j : joined) {
            workers.add(j.get(30, TimeUnit.SECONDS));
        }
        return new Group(workers, failures);
    }

    @Test
    void everyWorkerGetsWorkerZerosIdAndACleanEndReportsNoFailure() throws Exception {
        byte[] id = new byte[128];
        rnd.nextBytes(id);
        Group g = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> start(freePort(), 4, id, List.of(3, 1, 2)));
        for (Rendezvous r : g.workers()) {
            assertArrayEquals(id, r.id(), "worker " + r.rank());
        }
        g.close();
        Thread.sleep(300);
        for (CompletableFuture<WorkerFailedException> f : g.failures()) {
            assertFalse(f.isDone(), "a clean end is no failure");
        }
    }

    @Test
    void aWorkersFailureReachesEveryOtherWorker() throws Exception {
        Group g = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> start(freePort(), 3, new byte[] {7}, List.of(1, 2)));
        Rendezvous two = g.workers().stream().filter(r -> r.rank() == 2).findFirst().orElseThrow();
        two.fail(new IllegalStateException("out of memory on GPU 2"));
        for (int r : new int[] {0, 1}) {
            WorkerFailedException e = g.failures().get(r).get(30, TimeUnit.SECONDS);
            assertEquals(2, e.failedRank());
            assertEquals("worker 2 of 3 failed: IllegalStateException: out of memory on GPU 2", e.getMessage());
        }
        Thread.sleep(300);
        assertFalse(g.failures().get(2).isDone(), "the failing worker is not told its own error");
        g.close();
    }

    @Test
    void aKilledWorkerProcessIsReportedToTheOthers() throws Exception {
        int port = freePort();
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), RendezvousChild.class.getName(),
                Integer.toString(port), "1", "3").redirectErrorStream(true).start();
        try {
            Group g = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> start(port, 3, new byte[16], List.of(2)));
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            assertEquals("joined 16", out.readLine(), "the child joined with the 16-byte id");
            child.destroyForcibly();
            for (int r : new int[] {0, 2}) {
                WorkerFailedException e = g.failures().get(r).get(30, TimeUnit.SECONDS);
                assertEquals(1, e.failedRank(), "worker " + r);
                assertTrue(e.getMessage().contains("worker 1 of 3 failed: its connection to worker 0 ended without"
                        + " a goodbye"), e.getMessage());
            }
            g.close();
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWorkerWithAnotherWorldSizeIsRefusedOnBothSides() throws Exception {
        int port = freePort();
        CompletableFuture<IOException> joinError = CompletableFuture.supplyAsync(() -> assertThrows(IOException.class,
                () -> Rendezvous.join("127.0.0.1", port, 1, 3, TIMEOUT, e -> {})));
        IOException hostError = assertThrows(IOException.class,
                () -> Rendezvous.host(port, 2, new byte[1], TIMEOUT, e -> {}));
        assertTrue(hostError.getMessage().contains("it says WORLD_SIZE=3, worker 0 has 2"), hostError.getMessage());
        String joined = joinError.get(30, TimeUnit.SECONDS).getMessage();
        assertTrue(joined.contains("refused worker 1: it says WORLD_SIZE=3, worker 0 has 2"), joined);
    }

    @Test
    void aMissingWorkerEndsTheWaitWithItsRank() throws Exception {
        IOException e = assertThrows(IOException.class,
                () -> Rendezvous.host(freePort(), 2, new byte[1], Duration.ofMillis(300), f -> {}));
        assertTrue(e.getMessage().contains("0 of 1 workers joined within 0 s; missing: RANK [1]"), e.getMessage());
    }
}

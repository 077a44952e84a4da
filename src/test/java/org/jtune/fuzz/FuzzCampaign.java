package org.jtune.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs fuzz cases of one format: each case gets its own seed, runs on a worker thread under a
 * timeout, and must either be accepted or end in one of the format's documented exception types
 * with a message. Anything else (another exception, an {@link Error}, a hang) is a finding, reported
 * with the seed that reproduces it. {@code -Dfuzz.cases=N} sets the cases per format (CI: 300),
 * {@code -Dfuzz.seed=S} the first seed.
 */
public final class FuzzCampaign {
    /** One case: builds its input from the random source and feeds it to the loader. */
    @FunctionalInterface
    public interface Case {
        void run(SplittableRandom rnd, int index) throws Exception;
    }

    private final String format;
    private final List<Class<? extends Throwable>> documented;
    private final long timeoutMillis;

    @SafeVarargs
    public FuzzCampaign(String format, long timeoutMillis, Class<? extends Throwable>... documented) {
        this.format = format;
        this.timeoutMillis = timeoutMillis;
        this.documented = List.of(documented);
    }

    public static int cases() {
        return Integer.getInteger("fuzz.cases", 300);
    }

    /** Runs the cases and fails the test with every finding; prints the tally. */
    public void run(Case body) {
        int count = cases();
        long firstSeed = Long.getLong("fuzz.seed", 20261206L);
        List<String> findings = new ArrayList<>();
        int accepted = 0;
        int refused = 0;
        long start = System.nanoTime();
        ExecutorService worker = newWorker();
        try {
            for (int i = 0; i < count; i++) {
                long seed = firstSeed + 7919L * i + format.hashCode();
                int index = i;
                Future<?> f = worker.submit(() -> {
                    body.run(new SplittableRandom(seed), index);
                    return null;
                });
                try {
                    f.get(timeoutMillis, TimeUnit.MILLISECONDS);
                    accepted++;
                } catch (TimeoutException e) {
                    f.cancel(true);
                    worker.shutdownNow();
                    worker = newWorker(); // the stuck thread is left to end; the next case gets a fresh one
                    findings.add("seed " + seed + ": no result after " + timeoutMillis + " ms (a hang)");
                } catch (ExecutionException e) {
                    Throwable t = e.getCause();
                    if (isDocumented(t)) {
                        refused++;
                    } else {
                        findings.add("seed " + seed + ": " + t.getClass().getName() + ": " + t.getMessage()
                                + where(t));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        } finally {
            worker.shutdownNow();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("fuzz %s: %d cases in %.1f s: %d accepted, %d refused with a documented error, %d findings%n",
                format, count, seconds, accepted, refused, findings.size());
        assertTrue(findings.isEmpty(), format + ": " + findings.size() + " of " + count + " cases ended badly:\n"
                + String.join("\n", findings.subList(0, Math.min(20, findings.size()))));
    }

    private boolean isDocumented(Throwable t) {
        if (t instanceof Error || t.getMessage() == null || t.getMessage().isBlank()) {
            return false;
        }
        return documented.stream().anyMatch(c -> c.isInstance(t));
    }

    private static String where(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("org.jtune")) {
                return " at " + e;
            }
        }
        return "";
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }
}

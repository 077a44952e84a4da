package org.jtune.parallel;

import java.util.Map;
import java.util.Optional;

/**
 * Where this process stands in a run of several workers, from the variables torchrun sets for each worker (and that
 * any launcher can set): {@code MASTER_ADDR} and {@code MASTER_PORT} (worker 0's {@link Rendezvous}), {@code RANK}
 * (0 to {@code WORLD_SIZE} - 1, over all hosts), {@code WORLD_SIZE} and {@code LOCAL_RANK} (the GPU on this host).
 */
public record WorkerEnvironment(String masterAddr, int masterPort, int rank, int worldSize, int localRank) {
    public static final String MASTER_ADDR = "MASTER_ADDR", MASTER_PORT = "MASTER_PORT", RANK = "RANK",
            WORLD_SIZE = "WORLD_SIZE", LOCAL_RANK = "LOCAL_RANK";

    /**
     * The worker's place from {@code env}, or empty when neither {@code RANK} nor {@code WORLD_SIZE} is set (a
     * process started on its own). {@code LOCAL_RANK} defaults to 0 and {@code MASTER_ADDR} to 127.0.0.1 when the
     * world has one worker.
     *
     * @throws IllegalArgumentException naming the variable that is missing or wrong
     */
    public static Optional<WorkerEnvironment> from(Map<String, String> env) {
        if (!env.containsKey(RANK) && !env.containsKey(WORLD_SIZE)) {
            return Optional.empty();
        }
        int worldSize = number(env, WORLD_SIZE, 1, Integer.MAX_VALUE);
        int rank = number(env, RANK, 0, worldSize - 1);
        int localRank = env.containsKey(LOCAL_RANK) ? number(env, LOCAL_RANK, 0, rank) : 0;
        if (worldSize == 1) {
            return Optional.of(new WorkerEnvironment(env.getOrDefault(MASTER_ADDR, "127.0.0.1"), 0, 0, 1, localRank));
        }
        String addr = env.get(MASTER_ADDR);
        if (addr == null || addr.isBlank()) {
            throw new IllegalArgumentException(MASTER_ADDR + " is not set: the workers of a run of " + worldSize
                    + " need the host of worker 0");
        }
        return Optional.of(new WorkerEnvironment(addr.strip(), number(env, MASTER_PORT, 1, 65535), rank, worldSize,
                localRank));
    }

    private static int number(Map<String, String> env, String name, int min, int max) {
        String v = env.get(name);
        if (v == null) {
            throw new IllegalArgumentException(name + " is not set (" + RANK + " and " + WORLD_SIZE
                    + " go together)");
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + "=" + v + " must be a whole number from " + min + " to " + max);
    }
}

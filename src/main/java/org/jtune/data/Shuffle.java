package org.jtune.data;

/**
 * Seeded permutations that are the same on every JVM: SplitMix64 (fixed here, unlike the library
 * generators, whose algorithms may change) driving a Fisher-Yates shuffle.
 */
final class Shuffle {
    private long state;

    private Shuffle(long seed) {
        state = seed;
    }

    /** The permutation of 0..n-1 for one epoch of a seeded run. */
    static int[] permutation(int n, long seed, int epoch) {
        Shuffle rng = new Shuffle(mix(seed) ^ mix(0x9E3779B97F4A7C15L * (epoch + 1L)));
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.below(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** Uniform in [0, bound), by rejection so no value is favoured. */
    int below(int bound) {
        long limit = Long.MAX_VALUE - Long.MAX_VALUE % bound;
        long r;
        do {
            r = nextLong() >>> 1;
        } while (r >= limit);
        return (int) (r % bound);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

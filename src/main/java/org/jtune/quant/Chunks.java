package org.jtune.quant;

import java.util.stream.LongStream;

/** Runs work over a range of indices split into chunks, on the common fork-join pool. */
final class Chunks {
    private Chunks() {}

    /** Work on the half-open index range [from, to). */
    @FunctionalInterface
    interface Body {
        void run(long from, long to);
    }

    /** Calls body on consecutive chunks of at most perChunk indices covering [0, count), in parallel. */
    static void parallel(long count, long perChunk, Body body) {
        long chunks = Math.ceilDiv(count, perChunk);
        LongStream.range(0, chunks).parallel()
                .forEach(c -> body.run(c * perChunk, Math.min(count, (c + 1) * perChunk)));
    }

    /** Number of blocks per chunk so that one chunk covers about 64 Ki elements. */
    static long blocksPerChunk(int blocksize) {
        return Math.max(1, (1 << 16) / blocksize);
    }
}

package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import java.util.stream.LongStream;

/**
 * Runs work over a range of indices split into chunks, on the common fork-join pool when every
 * segment involved may be used from other threads, else on the calling thread.
 */
final class Chunks {
    private Chunks() {}

    /** A thread that is never started: a segment it may access is accessible from any thread. */
    private static final Thread ANY_OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

    /** Work on the half-open index range [from, to). */
    @FunctionalInterface
    interface Body {
        void run(long from, long to);
    }

    /**
     * Calls body on consecutive chunks of at most perChunk indices covering [0, count): in parallel
     * if all the given segments are shared, sequentially if one is confined to this thread.
     */
    static void parallel(long count, long perChunk, Body body, MemorySegment... segments) {
        long chunks = Math.ceilDiv(count, perChunk);
        LongStream indices = LongStream.range(0, chunks);
        if (allShared(segments)) {
            indices = indices.parallel();
        }
        indices.forEach(c -> body.run(c * perChunk, Math.min(count, (c + 1) * perChunk)));
    }

    private static boolean allShared(MemorySegment... segments) {
        for (MemorySegment s : segments) {
            if (!s.isAccessibleBy(ANY_OTHER_THREAD)) {
                return false;
            }
        }
        return true;
    }

    /** Number of blocks per chunk so that one chunk covers about 64 Ki elements. */
    static long blocksPerChunk(int blocksize) {
        return Math.max(1, (1 << 16) / blocksize);
    }
}

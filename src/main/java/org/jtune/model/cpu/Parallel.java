package org.jtune.model.cpu;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Runs independent work items on the common fork-join pool when there is enough work to pay for it.
 * Every item must write its own outputs only, so that results do not depend on the thread count.
 */
final class Parallel {
    /** Below this many multiply-adds in total a call stays on the calling thread. */
    private static final long MIN_PARALLEL_WORK = 1 << 15;

    private Parallel() {}

    static void forEach(int items, long workPerItem, IntConsumer body) {
        if (items <= 1 || (long) items * workPerItem < MIN_PARALLEL_WORK) {
            for (int i = 0; i < items; i++) {
                body.accept(i);
            }
        } else {
            IntStream.range(0, items).parallel().forEach(body);
        }
    }
}

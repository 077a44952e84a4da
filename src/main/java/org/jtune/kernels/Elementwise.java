package org.jtune.kernels;

import org.jtune.cuda.LaunchShape;

/** Launch shape of the element-wise kernels: a grid-stride loop over 8-element vectors. */
final class Elementwise {
    private static final int BLOCK = 256;
    /** Enough blocks to fill any current GPU several times over; more only adds scheduling cost. */
    private static final int MAX_BLOCKS = 8192;

    private Elementwise() {}

    static LaunchShape shape(long elements) {
        long vectors = Math.max(1, elements / 8);
        return LaunchShape.of((int) Math.min(MAX_BLOCKS, LaunchShape.blocksFor(vectors, BLOCK)), BLOCK);
    }
}

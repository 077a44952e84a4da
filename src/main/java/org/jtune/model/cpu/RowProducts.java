package org.jtune.model.cpu;

import java.util.stream.IntStream;

/**
 * {@code y[r, j] (+)= alpha · x[r, :]·w[j, :]} for the few token rows of a decode step (or a prefill chunk): each
 * weight row is read once into a small per-thread buffer and multiplied with every token row, blocks of weight
 * rows spread over all cores. Each output element is one thread's, so results do not depend on the thread count.
 */
final class RowProducts {
    /** Floats of weight rows one task holds at once: a few rows, well inside a core's L2 cache. */
    private static final int BLOCK_FLOATS = 16 * 1024;
    /** Below this many multiply-adds a product stays on the calling thread. */
    private static final long MIN_PARALLEL_WORK = 1 << 16;
    private static final ThreadLocal<float[]> BUFFER = ThreadLocal.withInitial(() -> new float[BLOCK_FLOATS]);

    private final RowMath math;
    private final int cores = Runtime.getRuntime().availableProcessors();

    RowProducts(RowMath math) {
        this.math = math;
    }

    RowMath math() {
        return math;
    }

    /** x [n, w.cols()] and y [n, w.rows()], row-major. */
    void multiply(WeightRows w, float[] x, int n, float[] y, float alpha, boolean accumulate) {
        int out = w.rows(), in = w.cols();
        int perBlock = Math.max(1, Math.min(BLOCK_FLOATS / Math.max(in, 1), Math.ceilDiv(out, 4 * cores)));
        int blocks = Math.ceilDiv(out, perBlock);
        IntStream range = IntStream.range(0, blocks);
        if ((long) n * out * in >= MIN_PARALLEL_WORK && blocks > 1) {
            range = range.parallel();
        }
        range.forEach(b -> {
            int from = b * perBlock, count = Math.min(perBlock, out - from);
            float[] rows = buffer(count * in);
            for (int j = 0; j < count; j++) {
                w.read(from + j, rows, j * in);
            }
            float[] four = new float[4];
            int r = 0;
            for (; r + 4 <= n; r += 4) { // four token rows per pass over each weight row
                for (int j = 0; j < count; j++) {
                    math.dot4(rows, j * in, x, r * in, in, in, four);
                    for (int k = 0; k < 4; k++) {
                        store(y, (r + k) * out + from + j, alpha * four[k], accumulate);
                    }
                }
            }
            for (; r < n; r++) {
                for (int j = 0; j < count; j++) {
                    store(y, r * out + from + j, alpha * math.dot(x, r * in, rows, j * in, in), accumulate);
                }
            }
        });
    }

    private static void store(float[] y, int at, float v, boolean accumulate) {
        y[at] = accumulate ? y[at] + v : v;
    }

    private static float[] buffer(int floats) {
        float[] b = BUFFER.get();
        if (b.length < floats) {
            b = new float[floats];
            BUFFER.set(b);
        }
        return b;
    }
}

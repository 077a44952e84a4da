package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * RMSNorm over bf16 rows as Hugging Face Llama computes it (normalize in float32, round to bf16, then
 * multiply by the bf16 weight), over hidden-state rows or over the heads of q and k (Qwen3's q/k norms), and its
 * input gradient for a frozen weight ({@code rmsnorm.ptx}).
 */
public final class RmsNormKernels {
    private static final int VECTOR = 8;
    /** Vectors each forward thread keeps in registers between its two passes (rmsnorm.ptx). */
    private static final int FORWARD_SLOTS = 4;

    /** Warps (head rows) per block of the heads forward. */
    private static final int HEAD_ROWS_PER_BLOCK = 4;

    private final Kernel forward;
    private final Kernel forwardHeads;
    private final Kernel backward;

    public RmsNormKernels(Context context) {
        this.forward = context.module("rmsnorm").kernel("rmsnorm_forward_bf16");
        this.forwardHeads = context.module("rmsnorm").kernel("rmsnorm_heads_forward_bf16");
        this.backward = context.module("rmsnorm").kernel("rmsnorm_backward_bf16");
    }

    /**
     * y = rmsnorm(x) * w over {@code rows} rows of length {@code d} (a multiple of 8); saves 1/rms of
     * each row in {@code rstd} (float32). {@code y} may be {@code x}.
     */
    public void forward(Stream stream, DeviceBuffer y, DeviceBuffer rstd, DeviceBuffer x, DeviceBuffer w,
                        int rows, int d, float eps) {
        String name = "rmsnorm forward";
        long elements = checkShape(name, rows, d);
        Checks.buffer(name, "y", y, 2 * elements, 16);
        Checks.buffer(name, "rstd", rstd, 4L * rows, 4);
        Checks.buffer(name, "x", x, 2 * elements, 16);
        Checks.buffer(name, "w", w, 2L * d, 16);
        if (!(eps >= 0)) {
            throw new IllegalArgumentException(name + ": eps must be a non-negative number, got " + eps);
        }
        forward.launch(stream, forwardShape(rows, d), y, rstd, x, w, rows, d, eps);
    }

    /**
     * The forward over each head of q or k: row (t, h) is the {@code headDim} elements from element
     * {@code t·ld + h·headDim} of x, normalized into the same place of y with the one weight w [headDim]; 1/rms
     * of the row goes to {@code rstd[t·heads + h]} (float32). With {@code ld = heads·headDim} the rows are
     * contiguous (and {@link #backward} over {@code tokens·heads} rows of {@code headDim} is the gradient); a
     * larger {@code ld} normalizes the q or k part of wider rows, such as a decode step's fused q/k/v. {@code y} may
     * be {@code x}.
     */
    public void forwardHeads(Stream stream, DeviceBuffer y, DeviceBuffer rstd, DeviceBuffer x, DeviceBuffer w,
                             int tokens, int heads, int headDim, int ld, float eps) {
        String name = "rmsnorm over heads";
        Checks.positive(name, "tokens", tokens);
        Checks.positive(name, "heads", heads);
        Checks.positive(name, "head dimension", headDim);
        Checks.multipleOf(name, "head dimension", headDim, VECTOR);
        Checks.multipleOf(name, "row stride ld", ld, VECTOR);
        if ((long) heads * headDim > ld) {
            throw new IllegalArgumentException(name + ": " + heads + " heads of " + headDim
                    + " do not fit a row stride ld of " + ld);
        }
        long rows = Checks.product(name, "tokens x heads", tokens, heads, Integer.MAX_VALUE);
        long extent = 2 * ((long) (tokens - 1) * ld + (long) heads * headDim);
        Checks.buffer(name, "y", y, extent, 4);
        Checks.buffer(name, "x", x, extent, 4);
        Checks.buffer(name, "rstd", rstd, 4 * rows, 4);
        Checks.buffer(name, "w", w, 2L * headDim, 4);
        if (!(eps >= 0)) {
            throw new IllegalArgumentException(name + ": eps must be a non-negative number, got " + eps);
        }
        forwardHeads.launch(stream, LaunchShape.of(LaunchShape.blocksFor(rows, HEAD_ROWS_PER_BLOCK),
                32 * HEAD_ROWS_PER_BLOCK), y, rstd, x, w, tokens, heads, headDim, ld, eps);
    }

    /**
     * dx = d(rmsnorm(x) * w)/dx applied to dy, with w frozen and {@code rstd} as saved by the forward.
     * {@code dx} may be {@code dy}.
     */
    public void backward(Stream stream, DeviceBuffer dx, DeviceBuffer dy, DeviceBuffer x, DeviceBuffer w,
                         DeviceBuffer rstd, int rows, int d) {
        String name = "rmsnorm backward";
        long elements = checkShape(name, rows, d);
        Checks.buffer(name, "dx", dx, 2 * elements, 16);
        Checks.buffer(name, "dy", dy, 2 * elements, 16);
        Checks.buffer(name, "x", x, 2 * elements, 16);
        Checks.buffer(name, "w", w, 2L * d, 16);
        Checks.buffer(name, "rstd", rstd, 4L * rows, 4);
        backward.launch(stream, backwardShape(rows, d), dx, dy, x, w, rstd, rows, d);
    }

    private static long checkShape(String name, int rows, int d) {
        Checks.positive(name, "rows", rows);
        Checks.positive(name, "row length d", d);
        Checks.multipleOf(name, "row length d", d, VECTOR);
        return (long) rows * d;
    }

    /**
     * One block per row; one thread per four 8-element vectors, rounded up to whole warps, at most 256:
     * a row of up to 8192 elements stays in registers, and small blocks let many rows be in flight.
     */
    private static LaunchShape forwardShape(int rows, int d) {
        int threadsNeeded = (d / VECTOR + FORWARD_SLOTS - 1) / FORWARD_SLOTS;
        return LaunchShape.of(rows, wholeWarps(threadsNeeded, 256));
    }

    /** One block per row; one thread per 8-element vector, rounded up to whole warps, at most 1024. */
    private static LaunchShape backwardShape(int rows, int d) {
        return LaunchShape.of(rows, wholeWarps(d / VECTOR, 1024));
    }

    private static int wholeWarps(int threads, int max) {
        return Math.min(max, Math.max(32, (threads + 31) / 32 * 32));
    }
}

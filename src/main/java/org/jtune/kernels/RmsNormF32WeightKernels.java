package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * RMSNorm with a float32 weight over bf16 rows, as Hugging Face Gemma 3 computes it (normalize and multiply in
 * float32, round once), and its input gradient for a frozen weight ({@code rmsnorm_f32w.ptx}). Gemma's weight is
 * applied as 1 + w: the caller uploads that sum in float32, so it is never rounded to bf16.
 *
 * <p>A row is (t, h): {@code d} elements from element {@code t·ld + h·d}. Hidden-state rows are one head with
 * {@code ld = d}; q/k norms are the heads of q or k, also inside wider rows such as a decode step's fused q/k/v.
 */
public final class RmsNormF32WeightKernels {
    /** Warps (rows) per block. */
    private static final int ROWS_PER_BLOCK = 4;

    private final Kernel forward;
    private final Kernel backward;

    public RmsNormF32WeightKernels(Context context) {
        this.forward = context.module("rmsnorm_f32w").kernel("rmsnorm_forward_f32w");
        this.backward = context.module("rmsnorm_f32w").kernel("rmsnorm_backward_f32w");
    }

    /**
     * y = bf16(x · rstd · w) per row, 1/rms of row (t, h) to {@code rstd[t·heads + h]} (float32); w float32 [d].
     * {@code y} may be {@code x}.
     */
    public void forward(Stream stream, DeviceBuffer y, DeviceBuffer rstd, DeviceBuffer x, DeviceBuffer w,
                        int tokens, int heads, int d, int ld, float eps) {
        String name = "rmsnorm forward (float32 weight)";
        long rows = checkRows(name, tokens, heads, d, ld);
        long extent = 2 * ((long) (tokens - 1) * ld + (long) heads * d);
        Checks.buffer(name, "y", y, extent, 4);
        Checks.buffer(name, "x", x, extent, 4);
        Checks.buffer(name, "rstd", rstd, 4 * rows, 4);
        Checks.buffer(name, "w", w, 4L * d, 8);
        if (!(eps >= 0)) {
            throw new IllegalArgumentException(name + ": eps must be a non-negative number, got " + eps);
        }
        forward.launch(stream, shape(rows), y, rstd, x, w, tokens, heads, d, ld, eps);
    }

    /**
     * dx = d(rmsnorm(x) · w)/dx applied to dy, with w frozen and {@code rstd} as the forward saved it; the rows as
     * in {@link #forward}. {@code dx} may be {@code dy}.
     */
    public void backward(Stream stream, DeviceBuffer dx, DeviceBuffer dy, DeviceBuffer x, DeviceBuffer w,
                         DeviceBuffer rstd, int tokens, int heads, int d, int ld) {
        String name = "rmsnorm backward (float32 weight)";
        long rows = checkRows(name, tokens, heads, d, ld);
        long extent = 2 * ((long) (tokens - 1) * ld + (long) heads * d);
        Checks.buffer(name, "dx", dx, extent, 4);
        Checks.buffer(name, "dy", dy, extent, 4);
        Checks.buffer(name, "x", x, extent, 4);
        Checks.buffer(name, "w", w, 4L * d, 8);
        Checks.buffer(name, "rstd", rstd, 4 * rows, 4);
        backward.launch(stream, shape(rows), dx, dy, x, w, rstd, tokens, heads, d, ld);
    }

    private static long checkRows(String name, int tokens, int heads, int d, int ld) {
        Checks.positive(name, "tokens", tokens);
        Checks.positive(name, "heads", heads);
        Checks.positive(name, "row length d", d);
        Checks.multipleOf(name, "row length d", d, 2);
        Checks.multipleOf(name, "row stride ld", ld, 2);
        if ((long) heads * d > ld) {
            throw new IllegalArgumentException(name + ": " + heads + " rows of " + d
                    + " per token do not fit a row stride ld of " + ld);
        }
        return Checks.product(name, "tokens x heads", tokens, heads, Integer.MAX_VALUE);
    }

    private static LaunchShape shape(long rows) {
        return LaunchShape.of(LaunchShape.blocksFor(rows, ROWS_PER_BLOCK), 32 * ROWS_PER_BLOCK);
    }
}

package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/** Residual add and bias add on bf16, and float32/bf16 conversions ({@code elementwise.ptx}). */
public final class ElementwiseKernels {
    private static final int BIAS_THREADS = 256;
    /** The bias add's grid.y (rows taken in turn by each block column) is a 16-bit dimension. */
    private static final int MAX_GRID_Y = 65_535;

    private final Kernel residualAdd;
    private final Kernel biasAdd;
    private final Kernel toBf16;
    private final Kernel toF32;

    public ElementwiseKernels(Context context) {
        this.residualAdd = context.module("elementwise").kernel("residual_add_bf16");
        this.biasAdd = context.module("elementwise").kernel("bias_add_bf16");
        this.toBf16 = context.module("elementwise").kernel("convert_f32_to_bf16");
        this.toF32 = context.module("elementwise").kernel("convert_bf16_to_f32");
    }

    /** y = bf16(y + x) over {@code n} bf16 elements. */
    public void residualAdd(Stream stream, DeviceBuffer y, DeviceBuffer x, long n) {
        String name = "residual add";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "y", y, 2 * n, 16);
        Checks.buffer(name, "x", x, 2 * n, 16);
        residualAdd.launch(stream, Elementwise.shape(n), y, x, n);
    }

    /**
     * y[r, c] = bf16(y[r, c] + b[c]) over a bf16 [rows, cols] matrix: the bias of a projection added after its
     * product (a separate pass over the output rather than a GEMM epilogue; see where the engines call it).
     */
    public void biasAdd(Stream stream, DeviceBuffer y, DeviceBuffer b, int rows, int cols) {
        String name = "bias add";
        Checks.positive(name, "rows", rows);
        Checks.positive(name, "cols", cols);
        Checks.multipleOf(name, "cols", cols, 8);
        Checks.buffer(name, "y", y, 2L * rows * cols, 16);
        Checks.buffer(name, "b", b, 2L * cols, 16);
        int vectors = cols / 8;
        int threads = Math.min(BIAS_THREADS, (vectors + 31) / 32 * 32);
        biasAdd.launch(stream, new LaunchShape(LaunchShape.blocksFor(vectors, threads), Math.min(rows, MAX_GRID_Y), 1,
                threads, 1, 1, 0), y, b, rows, cols);
    }

    /** out = bf16(in), round to nearest even, over {@code n} elements. */
    public void floatToBf16(Stream stream, DeviceBuffer out, DeviceBuffer in, long n) {
        String name = "float32 to bf16";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "out", out, 2 * n, 16);
        Checks.buffer(name, "in", in, 4 * n, 16);
        toBf16.launch(stream, Elementwise.shape(n), out, in, n);
    }

    /** out = float(in), exact, over {@code n} elements. */
    public void bf16ToFloat(Stream stream, DeviceBuffer out, DeviceBuffer in, long n) {
        String name = "bf16 to float32";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "out", out, 4 * n, 16);
        Checks.buffer(name, "in", in, 2 * n, 16);
        toF32.launch(stream, Elementwise.shape(n), out, in, n);
    }
}

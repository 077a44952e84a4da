package org.jtune.ops.cuda;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * bf16 matrix products on tensor cores with float32 accumulation ({@code gemm_bf16.ptx}), in the three
 * operand layouts of a LoRA step: Y = X.W^T, dX = dY.W and dW = dY^T.X, with W stored [out, in] as HF does.
 */
public final class GemmKernels {
    private static final int TILE = 128;
    private static final int THREADS = 256;
    private static final int SHARED_BYTES = 4 * 16384;
    private static final int MAX_GRID_Y = 65_535;

    /** Element type of the output. */
    public enum Output { BF16, F32 }

    /** How A [M, K] and B [K, N] are stored (all row-major). */
    public enum Layout {
        /** A stored [M, K], B stored [N, K]: C = A . B^T. */
        A_MK_B_NK("gemm_bf16_ak_bk", true, false, false),
        /** A stored [M, K], B stored [K, N]: C = A . B. */
        A_MK_B_KN("gemm_bf16_ak_bn", true, true, false),
        /** A stored [K, M], B stored [K, N]: C = A^T . B. */
        A_KM_B_KN("gemm_bf16_am_bn", false, true, true);

        private final String kernel;
        /** Whether chunks of 8 run along K in A (so K must be a multiple of 8). */
        private final boolean aAlongK;
        /** Whether B is stored with N contiguous (so N must be a multiple of 8). */
        private final boolean bAlongN;
        /** Whether A is stored with M contiguous (so M must be a multiple of 8). */
        private final boolean aAlongM;

        Layout(String kernel, boolean aAlongK, boolean bAlongN, boolean aAlongM) {
            this.kernel = kernel;
            this.aAlongK = aAlongK;
            this.bAlongN = bAlongN;
            this.aAlongM = aAlongM;
        }
    }

    private final Kernel[] kernels = new Kernel[Layout.values().length];

    public GemmKernels(Context context) {
        for (Layout layout : Layout.values()) {
            Kernel kernel = context.module("gemm_bf16").kernel(layout.kernel);
            kernel.allowDynamicSharedMemory(SHARED_BYTES);
            kernels[layout.ordinal()] = kernel;
        }
    }

    /** Y[tokens, out] = alpha * X[tokens, in] . W[out, in]^T (+ Y when {@code accumulate}). */
    public void forward(Stream stream, DeviceBuffer y, Output type, boolean accumulate, DeviceBuffer x, DeviceBuffer w,
                        int tokens, int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_MK_B_NK, y, type, accumulate, x, w, tokens, outFeatures, inFeatures,
                inFeatures, inFeatures, outFeatures, alpha);
    }

    /** dX[tokens, in] = alpha * dY[tokens, out] . W[out, in] (+ dX when {@code accumulate}). */
    public void backwardInput(Stream stream, DeviceBuffer dx, Output type, boolean accumulate, DeviceBuffer dy,
                              DeviceBuffer w, int tokens, int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_MK_B_KN, dx, type, accumulate, dy, w, tokens, inFeatures, outFeatures,
                outFeatures, inFeatures, inFeatures, alpha);
    }

    /** dW[out, in] = alpha * dY[tokens, out]^T . X[tokens, in] (+ dW when {@code accumulate}). */
    public void weightGradient(Stream stream, DeviceBuffer dw, Output type, boolean accumulate, DeviceBuffer dy,
                               DeviceBuffer x, int tokens, int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_KM_B_KN, dw, type, accumulate, dy, x, outFeatures, inFeatures, tokens,
                outFeatures, inFeatures, inFeatures, alpha);
    }

    /**
     * C[m, n] = alpha * sum over k of A(i, k) B(k, j) (+ C when {@code accumulate}), the operands stored as
     * {@code layout} says with row strides lda, ldb, ldc (elements).
     */
    public void multiply(Stream stream, Layout layout, DeviceBuffer c, Output type, boolean accumulate,
                         DeviceBuffer a, DeviceBuffer b, int m, int n, int k, int lda, int ldb, int ldc, float alpha) {
        String name = "gemm " + layout;
        checkShape(name, layout, m, n, k, lda, ldb, ldc);
        int aRows = layout.aAlongK ? m : k;
        int aCols = layout.aAlongK ? k : m;
        int bRows = layout.bAlongN ? k : n;
        int bCols = layout.bAlongN ? n : k;
        Checks.buffer(name, "A", a, 2 * ((long) (aRows - 1) * lda + aCols), 16);
        Checks.buffer(name, "B", b, 2 * ((long) (bRows - 1) * ldb + bCols), 16);
        int elementBytes = type == Output.F32 ? 4 : 2;
        Checks.buffer(name, "C", c, elementBytes * ((long) (m - 1) * ldc + n), elementBytes);
        launch(stream, layout, c.address(), type, accumulate, a.address(), b.address(), m, n, k, lda, ldb, ldc, alpha);
    }

    /**
     * As {@link #multiply} on device addresses inside buffers that the caller has already checked to hold the
     * operands (launchers that work on row ranges of their buffers); A and B must be 16-byte aligned.
     */
    void multiplyAt(Stream stream, Layout layout, long c, Output type, boolean accumulate, long a, long b, int m,
                    int n, int k, int lda, int ldb, int ldc, float alpha) {
        String name = "gemm " + layout;
        checkShape(name, layout, m, n, k, lda, ldb, ldc);
        requireAligned(name, "A", a, 16);
        requireAligned(name, "B", b, 16);
        requireAligned(name, "C", c, type == Output.F32 ? 4 : 2);
        launch(stream, layout, c, type, accumulate, a, b, m, n, k, lda, ldb, ldc, alpha);
    }

    private static void checkShape(String name, Layout layout, int m, int n, int k, int lda, int ldb, int ldc) {
        Checks.positive(name, "m", m);
        Checks.positive(name, "n", n);
        Checks.positive(name, "k", k);
        if (layout.aAlongK) {
            Checks.multipleOf(name, "k", k, 8);
        }
        if (layout.aAlongM) {
            Checks.multipleOf(name, "m", m, 8);
        }
        if (layout.bAlongN) {
            Checks.multipleOf(name, "n", n, 8);
        }
        Checks.multipleOf(name, "lda", lda, 8);
        Checks.multipleOf(name, "ldb", ldb, 8);
        requireStride(name, "lda", lda, layout.aAlongK ? k : m);
        requireStride(name, "ldb", ldb, layout.bAlongN ? n : k);
        requireStride(name, "ldc", ldc, n);
        if ((m + TILE - 1) / TILE > MAX_GRID_Y) {
            throw new IllegalArgumentException(name + ": m = " + m + " exceeds " + (long) MAX_GRID_Y * TILE);
        }
    }

    private void launch(Stream stream, Layout layout, long c, Output type, boolean accumulate, long a, long b, int m,
                        int n, int k, int lda, int ldb, int ldc, float alpha) {
        int flags = (type == Output.F32 ? 1 : 0) | (accumulate ? 2 : 0);
        LaunchShape shape = new LaunchShape((n + TILE - 1) / TILE, (m + TILE - 1) / TILE, 1, THREADS, 1, 1,
                SHARED_BYTES);
        kernels[layout.ordinal()].launch(stream, shape, c, a, b, m, n, k, lda, ldb, ldc, alpha, flags);
    }

    private static void requireAligned(String name, String what, long address, int alignment) {
        if (address % alignment != 0) {
            throw new IllegalArgumentException(name + ": " + what + " at 0x" + Long.toHexString(address)
                    + " is not " + alignment + "-byte aligned");
        }
    }

    private static void requireStride(String name, String what, int stride, int columns) {
        if (stride < columns) {
            throw new IllegalArgumentException(name + ": " + what + " = " + stride + " is less than the " + columns
                    + " columns of its matrix");
        }
    }
}

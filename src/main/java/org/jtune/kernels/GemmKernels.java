package org.jtune.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;
import org.jtune.cuda.TensorMap;

/**
 * bf16 matrix products on tensor cores with float32 accumulation, in the three operand layouts of a LoRA
 * step: Y = X.W^T, dX = dY.W and dW = dY^T.X, with W stored [out, in] as HF does. On compute capability 9.0
 * they run {@code gemm_bf16_sm90.ptx} (wgmma fed by bulk tensor copies), elsewhere {@code gemm_bf16.ptx}.
 */
public final class GemmKernels {
    private static final int MAX_GRID_Y = 65_535;

    /** How C is written: its element type, and whether the product replaces C or is added to it. */
    public enum Store {
        BF16(false, false), BF16_ADD(false, true), F32(true, false), F32_ADD(true, true);

        private final boolean f32;
        private final boolean adds;

        Store(boolean f32, boolean adds) {
            this.f32 = f32;
            this.adds = adds;
        }

        int elementBytes() {
            return f32 ? 4 : 2;
        }

        /** The kernels' flags parameter: bit 0 float32 output, bit 1 accumulate. */
        int flags() {
            return (f32 ? 1 : 0) | (adds ? 2 : 0);
        }
    }

    /** How A [M, K] and B [K, N] are stored (all row-major). */
    public enum Layout {
        /** A stored [M, K], B stored [N, K]: C = A . B^T. */
        A_MK_B_NK("ak_bk", true, false, false),
        /** A stored [M, K], B stored [K, N]: C = A . B. */
        A_MK_B_KN("ak_bn", true, true, false),
        /** A stored [K, M], B stored [K, N]: C = A^T . B. */
        A_KM_B_KN("am_bn", false, true, true);

        private final String suffix;
        /** Whether chunks of 8 run along K in A (so K must be a multiple of 8). */
        private final boolean aAlongK;
        /** Whether B is stored with N contiguous (so N must be a multiple of 8). */
        private final boolean bAlongN;
        /** Whether A is stored with M contiguous (so M must be a multiple of 8). */
        private final boolean aAlongM;

        Layout(String suffix, boolean aAlongK, boolean bAlongN, boolean aAlongM) {
            this.suffix = suffix;
            this.aAlongK = aAlongK;
            this.bAlongN = bAlongN;
            this.aAlongM = aAlongM;
        }
    }

    /** The kernel family a {@link GemmKernels} runs: its PTX module, tile and launch shape. */
    enum Path {
        /** mma.sync with cp.async (sm_80 and newer): 128 x 128 tiles, 256 threads. */
        SM80("gemm_bf16", "gemm_bf16_", 128, 128, 256, 4 * 16384),
        /** wgmma with bulk tensor copies (sm_90a, compute capability 9.0 only): 128 x 256 tiles, 384 threads. */
        SM90("gemm_bf16_sm90", "gemm_bf16_sm90_", 128, 256, 384, 4 * 49152 + 64 + 1024);

        private final String module;
        private final String prefix;
        private final int tileM;
        private final int tileN;
        private final int threads;
        private final int sharedBytes;

        Path(String module, String prefix, int tileM, int tileN, int threads, int sharedBytes) {
            this.module = module;
            this.prefix = prefix;
            this.tileM = tileM;
            this.tileN = tileN;
            this.threads = threads;
            this.sharedBytes = sharedBytes;
        }

        boolean runsOn(Device device) {
            return this == SM80 ? device.computeCapability() >= 80 : device.computeCapability() == 90;
        }
    }

    /** Per-thread space for the two tensor maps of an SM90 launch, so launches allocate nothing. */
    private static final ThreadLocal<MemorySegment> TENSOR_MAPS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(2L * TensorMap.BYTES, TensorMap.ALIGNMENT));

    private final Path path;
    private final Kernel[] kernels = new Kernel[Layout.values().length];

    /** Kernels for the context's GPU: the wgmma path on compute capability 9.0, the mma.sync one elsewhere. */
    public GemmKernels(Context context) {
        this(context, Path.SM90.runsOn(context.device()) ? Path.SM90 : Path.SM80);
    }

    /** Kernels of one path (for tests that run each path the GPU supports). */
    GemmKernels(Context context, Path path) {
        Device device = context.device();
        if (!path.runsOn(device)) {
            throw new IllegalArgumentException("GEMM path " + path + " does not run on " + device.name()
                    + " (compute " + device.computeMajor() + "." + device.computeMinor() + ")");
        }
        this.path = path;
        for (Layout layout : Layout.values()) {
            Kernel kernel = context.module(path.module).kernel(path.prefix + layout.suffix);
            kernel.allowDynamicSharedMemory(path.sharedBytes);
            kernels[layout.ordinal()] = kernel;
        }
    }

    /** The paths this GPU can run. */
    static List<Path> supportedPaths(Device device) {
        return Arrays.stream(Path.values()).filter(p -> p.runsOn(device)).toList();
    }

    Path path() {
        return path;
    }

    /** Y[tokens, out] = alpha * X[tokens, in] . W[out, in]^T (+ Y when {@code store} adds). */
    public void forward(Stream stream, DeviceBuffer y, Store store, DeviceBuffer x, DeviceBuffer w, int tokens,
                        int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_MK_B_NK, y, store, x, w, tokens, outFeatures, inFeatures,
                inFeatures, inFeatures, outFeatures, alpha);
    }

    /** dX[tokens, in] = alpha * dY[tokens, out] . W[out, in] (+ dX when {@code store} adds). */
    public void backwardInput(Stream stream, DeviceBuffer dx, Store store, DeviceBuffer dy, DeviceBuffer w, int tokens,
                              int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_MK_B_KN, dx, store, dy, w, tokens, inFeatures, outFeatures,
                outFeatures, inFeatures, inFeatures, alpha);
    }

    /** dW[out, in] = alpha * dY[tokens, out]^T . X[tokens, in] (+ dW when {@code store} adds). */
    public void weightGradient(Stream stream, DeviceBuffer dw, Store store, DeviceBuffer dy, DeviceBuffer x,
                               int tokens, int outFeatures, int inFeatures, float alpha) {
        multiply(stream, Layout.A_KM_B_KN, dw, store, dy, x, outFeatures, inFeatures, tokens,
                outFeatures, inFeatures, inFeatures, alpha);
    }

    /**
     * C[m, n] = alpha * sum over k of A(i, k) B(k, j) (+ C when {@code store} adds), the operands stored as
     * {@code layout} says with row strides lda, ldb, ldc (elements).
     */
    public void multiply(Stream stream, Layout layout, DeviceBuffer c, Store store, DeviceBuffer a, DeviceBuffer b,
                         int m, int n, int k, int lda, int ldb, int ldc, float alpha) {
        String name = "gemm " + layout;
        checkShape(name, layout, m, n, k, lda, ldb, ldc);
        Checks.buffer(name, "A", a, 2 * ((long) (rowsOfA(layout, m, k) - 1) * lda + colsOfA(layout, m, k)), 16);
        Checks.buffer(name, "B", b, 2 * ((long) (rowsOfB(layout, n, k) - 1) * ldb + colsOfB(layout, n, k)), 16);
        int elementBytes = store.elementBytes();
        Checks.buffer(name, "C", c, elementBytes * ((long) (m - 1) * ldc + n), elementBytes);
        launch(stream, layout, c.address(), store, a.address(), b.address(), m, n, k, lda, ldb, ldc, alpha);
    }

    private void checkShape(String name, Layout layout, int m, int n, int k, int lda, int ldb, int ldc) {
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
        requireStride(name, "lda", lda, colsOfA(layout, m, k));
        requireStride(name, "ldb", ldb, colsOfB(layout, n, k));
        requireStride(name, "ldc", ldc, n);
        if ((m + path.tileM - 1) / path.tileM > MAX_GRID_Y) {
            throw new IllegalArgumentException(name + ": m = " + m + " exceeds " + (long) MAX_GRID_Y * path.tileM);
        }
    }

    private static int rowsOfA(Layout layout, int m, int k) {
        return layout.aAlongK ? m : k;
    }

    private static int colsOfA(Layout layout, int m, int k) {
        return layout.aAlongK ? k : m;
    }

    private static int rowsOfB(Layout layout, int n, int k) {
        return layout.bAlongN ? k : n;
    }

    private static int colsOfB(Layout layout, int n, int k) {
        return layout.bAlongN ? n : k;
    }

    private void launch(Stream stream, Layout layout, long c, Store store, long a, long b, int m, int n, int k, int lda,
                        int ldb, int ldc, float alpha) {
        int flags = store.flags();
        LaunchShape shape = new LaunchShape((n + path.tileN - 1) / path.tileN, (m + path.tileM - 1) / path.tileM, 1,
                path.threads, 1, 1, path.sharedBytes);
        Kernel kernel = kernels[layout.ordinal()];
        if (path == Path.SM80) {
            kernel.launch(stream, shape, c, a, b, m, n, k, lda, ldb, ldc, alpha, flags);
            return;
        }
        // Boxes as gemm_bf16_sm90.ptx loads them: 64 elements (128 bytes) along the contiguous dimension;
        // a whole tile of rows (128 of A, 256 of B) when K is the contiguous one, 64 k-rows otherwise.
        MemorySegment maps = TENSOR_MAPS.get();
        MemorySegment mapA = maps.asSlice(0, TensorMap.BYTES);
        MemorySegment mapB = maps.asSlice(TensorMap.BYTES, TensorMap.BYTES);
        TensorMap.bf16RowMajor(mapA, a, rowsOfA(layout, m, k), colsOfA(layout, m, k), lda,
                layout.aAlongK ? path.tileM : 64, 64);
        TensorMap.bf16RowMajor(mapB, b, rowsOfB(layout, n, k), colsOfB(layout, n, k), ldb,
                layout.bAlongN ? 64 : path.tileN, 64);
        kernel.launch(stream, shape, mapA, mapB, c, m, n, k, ldc, alpha, flags);
    }

    private static void requireStride(String name, String what, int stride, int columns) {
        if (stride < columns) {
            throw new IllegalArgumentException(name + ": " + what + " = " + stride + " is less than the " + columns
                    + " columns of its matrix");
        }
    }
}

package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.F32_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * gemm_bf16.ptx and gemm_bf16_sm90.ptx against double-precision products of the same bf16 inputs, every
 * element checked, for the three LoRA layouts on ragged shapes, on each kernel path the GPU runs.
 * <p>Bound per element: float32 accumulation of K products adds at most about K roundings of 2^-24
 * relative to sum |a b| (doubled to allow for tensor cores truncating instead of rounding), plus the
 * final rounding of the output: 2^-8 relative for bf16, 2^-24 for float32.
 */
@GpuTest
class GemmKernelsGpuTest {

    static Stream<Arguments> shapes() {
        List<Arguments> list = new ArrayList<>();
        int[] ragged = {1, 17, 130};
        int[] columns = {8, 40, 1000};
        int[] inner = {8, 24, 4104};
        for (int m : ragged) {
            for (int n : columns) {
                for (int k : inner) {
                    list.add(Arguments.of(GemmKernels.Layout.A_MK_B_NK, m, n, k));
                    list.add(Arguments.of(GemmKernels.Layout.A_MK_B_KN, m, n, k));
                }
            }
        }
        // More than one group of 8 tile rows (blocks take their tiles group by group).
        list.add(Arguments.of(GemmKernels.Layout.A_MK_B_NK, 1100, 136, 64));
        list.add(Arguments.of(GemmKernels.Layout.A_MK_B_KN, 1100, 264, 40));
        list.add(Arguments.of(GemmKernels.Layout.A_KM_B_KN, 1096, 136, 33));
        // N not a multiple of 4: rows of C are not 8-byte aligned, so the output is written element by element.
        list.add(Arguments.of(GemmKernels.Layout.A_MK_B_NK, 130, 37, 72));
        list.add(Arguments.of(GemmKernels.Layout.A_MK_B_NK, 3, 301, 16));
        // A stored [K, M]: M a multiple of 8, K (tokens) anything.
        for (int m : new int[] {8, 40, 136}) {
            for (int n : columns) {
                for (int k : new int[] {1, 17, 130, 4104}) {
                    list.add(Arguments.of(GemmKernels.Layout.A_KM_B_KN, m, n, k));
                }
            }
        }
        List<Arguments> everyPath = new ArrayList<>();
        for (GemmKernels.Path path : GemmKernels.Path.values()) {
            for (Arguments shape : list) {
                Object[] values = shape.get();
                everyPath.add(Arguments.of(path, values[0], values[1], values[2], values[3]));
            }
        }
        return everyPath.stream();
    }

    @Test
    void choosesTheWgmmaPathExactlyOnComputeCapability90() {
        Context context = KernelTests.context();
        GemmKernels.Path expected = context.device().computeCapability() == 90
                ? GemmKernels.Path.SM90 : GemmKernels.Path.SM80;
        assertEquals(expected, new GemmKernels(context).path());
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void productMatchesDoubleReference(GemmKernels.Path path, GemmKernels.Layout layout, int m, int n, int k) {
        Context context = KernelTests.context();
        assumeTrue(GemmKernels.supportedPaths(context.device()).contains(path),
                path + " does not run on " + context.device().name());
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        // Logical A [m, k] and B [k, n] as bf16, stored as the layout says.
        short[] a = KernelTests.randomBf16(random, m * k, 1.0);
        short[] b = KernelTests.randomBf16(random, k * n, 1.0);
        short[] aStored = layout == GemmKernels.Layout.A_KM_B_KN ? transpose(a, m, k) : a;
        short[] bStored = layout == GemmKernels.Layout.A_MK_B_NK ? transpose(b, k, n) : b;
        int lda = layout == GemmKernels.Layout.A_KM_B_KN ? m : k;
        int ldb = layout == GemmKernels.Layout.A_MK_B_NK ? k : n;
        float[] initial = KernelTests.randomFloats(random, m * n, 1.0);
        float alpha = (float) random.nextDouble(0.25, 2);
        String shape = path + " " + layout + " " + m + "x" + n + "x" + k + ", seed " + seed;

        double[] bValues = new double[k * n];
        for (int i = 0; i < bValues.length; i++) {
            bValues[i] = bf16(b[i]);
        }
        double[][] product = new double[m][n];
        double[][] magnitude = new double[m][n];
        for (int i = 0; i < m; i++) {
            double[] row = product[i];
            double[] rowMagnitude = magnitude[i];
            for (int p = 0; p < k; p++) {
                double ap = bf16(a[i * k + p]);
                for (int j = 0; j < n; j++) {
                    double term = ap * bValues[p * n + j];
                    row[j] += term;
                    rowMagnitude[j] += Math.abs(term);
                }
            }
        }

        GemmKernels gemm = new GemmKernels(context, path);
        try (org.jtune.cuda.Stream stream = context.createStream();
             DeviceBuffer da = KernelTests.upload(context, aStored);
             DeviceBuffer db = KernelTests.upload(context, bStored);
             DeviceBuffer cBf16 = KernelTests.poisonedBf16(context, stream, (long) m * n);
             DeviceBuffer cF32 = KernelTests.upload(context, initial)) {
            gemm.multiply(stream, layout, cBf16, GemmKernels.Store.BF16, da, db, m, n, k, lda, ldb, n, 1f);
            gemm.multiply(stream, layout, cF32, GemmKernels.Store.F32_ADD, da, db, m, n, k, lda, ldb, n, alpha);
            stream.synchronize();
            short[] outBf16 = KernelTests.downloadBf16(cBf16, m * n);
            float[] outF32 = KernelTests.downloadFloats(cF32, m * n);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double accumulation = 2 * (k + 2) * F32_EPS * magnitude[i][j];
                    String where = "[" + i + "][" + j + "] (" + shape + ")";
                    double expected = product[i][j];
                    // The output rounding is relative to the computed value, which is within accumulation of expected.
                    KernelTests.assertWithin(expected, bf16(outBf16[i * n + j]),
                            accumulation * (1 + BF16_EPS) + BF16_EPS * Math.abs(expected) + 1e-30, "bf16 C" + where);
                    double accumulated = alpha * expected + initial[i * n + j];
                    double bound = alpha * accumulation * 1.01 + 2 * F32_EPS * (Math.abs(alpha * expected)
                            + Math.abs(initial[i * n + j])) + 1e-30;
                    KernelTests.assertWithin(accumulated, outF32[i * n + j], bound, "float32 C += alpha A.B " + where);
                }
            }
        }
    }

    @Test
    void refusesShapesTheKernelCannotLoad() {
        Context context = KernelTests.context();
        GemmKernels gemm = new GemmKernels(context);
        try (org.jtune.cuda.Stream stream = context.createStream(); DeviceBuffer any = context.allocate(1 << 20)) {
            IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () ->
                    gemm.forward(stream, any, GemmKernels.Store.BF16, any, any, 4, 8, 12, 1f));
            assertTrue(k.getMessage().contains("k = 12"), k.getMessage());
            IllegalArgumentException n = assertThrows(IllegalArgumentException.class, () ->
                    gemm.backwardInput(stream, any, GemmKernels.Store.BF16, any, any, 4, 8, 12, 1f));
            assertTrue(n.getMessage().contains("n = 12"), n.getMessage());
            IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () ->
                    gemm.forward(stream, any, GemmKernels.Store.F32, any, any, 1024, 1024, 1024, 1f));
            assertTrue(size.getMessage().contains("buffer"), size.getMessage());
        }
    }

    private static short[] transpose(short[] values, int rows, int cols) {
        short[] out = new short[values.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = values[i * cols + j];
            }
        }
        return out;
    }
}

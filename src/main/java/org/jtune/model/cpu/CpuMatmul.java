package org.jtune.model.cpu;

import org.jtune.tensor.Tensor;


/**
 * The three matrix products the model needs, over row-major 2-D tensors, accumulating in double. The right-hand
 * operand may be F32, BF16 or F16 (a frozen weight) and is read in place, row by row, so weights are never copied.
 */
final class CpuMatmul {

    private CpuMatmul() {}

    /**
     * {@code c[m,n] (+)= alpha · Σ_k a[m,k]·b[n,k]}: a [M,K], b [N,K], c [M,N]. a is transposed once so that each
     * output column is a sum of contiguous rows scaled by the elements of one row of b (a loop the JIT vectorizes).
     */
    static void nt(Tensor a, Tensor b, Tensor c, float alpha, boolean accumulate) {
        int m = rows(a), k = cols(a), n = rows(b);
        check(cols(b) == k && rows(c) == m && cols(c) == n, "a·bᵀ", a, b, c);
        float[] at = new float[Math.multiplyExact(k, m)];
        float[] row = new float[k];
        for (int i = 0; i < m; i++) {
            a.readRow(i, row);
            for (int kk = 0; kk < k; kk++) {
                at[kk * m + i] = row[kk];
            }
        }
        Parallel.forEach(n, (long) m * k, j -> {
            float[] bRow = new float[k];
            b.readRow(j, bRow);
            double[] acc = new double[m];
            for (int kk = 0; kk < k; kk++) {
                double s = bRow[kk];
                if (s != 0) {
                    int base = kk * m;
                    for (int i = 0; i < m; i++) {
                        acc[i] += s * at[base + i];
                    }
                }
            }
            for (int i = 0; i < m; i++) {
                long idx = (long) i * n + j;
                float v = (float) (alpha * acc[i]);
                c.set(idx, accumulate ? c.get(idx) + v : v);
            }
        });
    }

    /** {@code c[m,:] (+)= alpha · Σ_k a[m,k]·b[k,:]}: a [M,K], b [K,N], c [M,N]. Scaled sums of contiguous rows. */
    static void nn(Tensor a, Tensor b, Tensor c, float alpha, boolean accumulate) {
        int m = rows(a), k = cols(a), n = cols(b);
        check(rows(b) == k && rows(c) == m && cols(c) == n, "a·b", a, b, c);
        Parallel.forEach(m, (long) n * k, i -> {
            float[] aRow = new float[k];
            a.readRow(i, aRow);
            double[] acc = new double[n];
            float[] bRow = new float[n];
            for (int kk = 0; kk < k; kk++) {
                if (aRow[kk] != 0) {
                    b.readRow(kk, bRow);
                    axpy(acc, aRow[kk], bRow);
                }
            }
            store(c, i, acc, alpha, accumulate);
        });
    }

    /** {@code c[m,:] (+)= alpha · Σ_k a[k,m]·b[k,:]}: a [K,M], b [K,N], c [M,N]. Used for weight gradients. */
    static void tn(Tensor a, Tensor b, Tensor c, float alpha, boolean accumulate) {
        int k = rows(a), m = cols(a), n = cols(b);
        check(rows(b) == k && rows(c) == m && cols(c) == n, "aᵀ·b", a, b, c);
        Parallel.forEach(m, (long) n * k, i -> {
            double[] acc = new double[n];
            float[] bRow = new float[n];
            for (int kk = 0; kk < k; kk++) {
                float s = a.get((long) kk * m + i);
                if (s != 0) {
                    b.readRow(kk, bRow);
                    axpy(acc, s, bRow);
                }
            }
            store(c, i, acc, alpha, accumulate);
        });
    }

    private static void store(Tensor c, int row, double[] acc, float alpha, boolean accumulate) {
        long base = (long) row * acc.length;
        for (int j = 0; j < acc.length; j++) {
            float v = (float) (alpha * acc[j]);
            c.set(base + j, accumulate ? c.get(base + j) + v : v);
        }
    }

    /**
     * acc[:] += alpha · row. The row is read in bulk first: element-wise reads of a shared-arena segment check the
     * segment's liveness on every access, which cost more than the arithmetic.
     */
    private static void axpy(double[] acc, float alpha, float[] row) {
        for (int j = 0; j < acc.length; j++) {
            acc[j] += (double) alpha * row[j];
        }
    }

    static int rows(Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException("expected a matrix, got " + t);
        }
        return Math.toIntExact(t.dim(0));
    }

    static int cols(Tensor t) {
        return Math.toIntExact(t.dim(1));
    }

    private static void check(boolean ok, String what, Tensor a, Tensor b, Tensor c) {
        if (!ok) {
            throw new IllegalArgumentException("shapes do not match for " + what + ": a " + a + ", b " + b + ", c " + c);
        }
    }
}

package org.jtune.export;

import org.jtune.model.LoraAdapters;
import org.jtune.tensor.Tensor;

/**
 * Rows of a weight matrix with its LoRA adapter merged in, {@code W[o] + scaling · B[o]·A}, summed in double and
 * rounded once to float32 as the {@code merge} command does, and optionally reordered per head for llama.cpp's RoPE
 * ({@link LlamaTensorPlan#sourceRow}). A row is made when asked for, so a matrix is never held whole. Safe to call
 * from several threads.
 */
final class MergedRows {
    private final String name;
    private final Tensor weight;
    private final float[][] a;
    private final Tensor b;
    private final int rank;
    private final float scaling;
    private final long headDim;
    private final ThreadLocal<double[]> delta;

    /**
     * @param adapter      null for the weight alone
     * @param permuteHeads heads to reorder rows within, 0 for none
     */
    MergedRows(String name, Tensor weight, LoraAdapters.Adapter adapter, float scaling, int permuteHeads) {
        this.name = name;
        this.weight = weight;
        this.scaling = scaling;
        this.headDim = permuteHeads == 0 ? 0 : weight.dim(0) / permuteHeads;
        int in = Math.toIntExact(weight.dim(1));
        if (adapter == null) {
            a = null;
            b = null;
            rank = 0;
        } else {
            rank = Math.toIntExact(adapter.a().dim(0));
            a = new float[rank][in];
            for (int r = 0; r < rank; r++) {
                adapter.a().readRow(r, a[r]);
            }
            b = adapter.b();
        }
        delta = ThreadLocal.withInitial(() -> new double[in]);
    }

    long rows() {
        return weight.dim(0);
    }

    int columns() {
        return Math.toIntExact(weight.dim(1));
    }

    /** Writes output row {@code row} into {@code out[0..columns)}; refuses values that are not finite. */
    void row(long row, float[] out) {
        long source = headDim == 0 ? row : LlamaTensorPlan.sourceRow(row, headDim);
        weight.readRow(source, out);
        int in = columns();
        if (a != null) {
            double[] d = delta.get();
            java.util.Arrays.fill(d, 0);
            for (int r = 0; r < rank; r++) {
                double bor = b.get(source * rank + r);
                float[] ar = a[r];
                for (int i = 0; i < in; i++) {
                    d[i] += bor * ar[i];
                }
            }
            for (int i = 0; i < in; i++) {
                out[i] = (float) (out[i] + scaling * d[i]);
            }
        }
        for (int i = 0; i < in; i++) {
            if (!Float.isFinite(out[i])) {
                throw new IllegalArgumentException(name + ": value " + out[i] + " at row " + source + ", column " + i
                        + (a != null ? " (with the LoRA adapter merged)" : "")
                        + "; a GGUF file of non-finite weights would not run");
            }
        }
    }
}

package org.jtune.model.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of the CPU decode engine, over float32 rows on the heap and off-heap (little-endian). Two
 * implementations: the Vector API where the runtime has the {@code jdk.incubator.vector} module, plain loops
 * otherwise; they differ only in the order of float32 additions.
 */
interface RowMath {

    /** {@code Σ a[aOff+i]·b[bOff+i]} for i < n. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /**
     * Four dot products of one row {@code a} with four rows of {@code b} {@code stride} apart:
     * {@code out[k] = Σ a[aOff+i]·b[bOff + k·stride + i]} for k < 4, i < n. Each element of a is loaded once for
     * the four, which is what makes a prompt's many tokens cheaper per token than one.
     */
    void dot4(float[] a, int aOff, float[] b, int bOff, int stride, int n, float[] out);

    /** {@code Σ a[aOff+i]·b[i]} for i < n, b being n floats at byte {@code bOffset} of a segment. */
    float dot(float[] a, int aOff, MemorySegment b, long bOffset, int n);

    /** {@code y[yOff+i] += alpha·x[i]} for i < n, x being n floats at byte {@code xOffset} of a segment. */
    void axpy(float alpha, MemorySegment x, long xOffset, float[] y, int yOff, int n);

    /** {@code dst[dstOff+i] = } the i-th bf16 value at byte {@code offset} of {@code src}, widened exactly. */
    void widenBf16(MemorySegment src, long offset, float[] dst, int dstOff, int n);

    /** E.g. "Vector API, 512-bit" or "scalar loops". */
    String describe();

    /** The Vector API kernels when the module is in the boot layer (add {@code --add-modules jdk.incubator.vector}). */
    static RowMath best() {
        return vectorApiAvailable() ? new VectorRowMath() : new ScalarRowMath();
    }

    static boolean vectorApiAvailable() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}

package org.jtune.model.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** {@link RowMath} in plain loops, for runtimes without the Vector API module. */
final class ScalarRowMath implements RowMath {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        // four partial sums: independent additions that the processor can overlap
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void dot4(float[] a, int aOff, float[] b, int bOff, int stride, int n, float[] out) {
        for (int k = 0; k < 4; k++) {
            out[k] = dot(a, aOff, b, bOff + k * stride, n);
        }
    }

    @Override
    public float dot(float[] a, int aOff, MemorySegment b, long bOffset, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b.get(F32, bOffset + 4L * i);
        }
        return s;
    }

    @Override
    public void axpy(float alpha, MemorySegment x, long xOffset, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += alpha * x.get(F32, xOffset + 4L * i);
        }
    }

    @Override
    public void widenBf16(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.intBitsToFloat(src.get(I16, offset + 2L * i) << 16);
        }
    }

    @Override
    public String describe() {
        return "scalar loops (run java with --add-modules jdk.incubator.vector for the Vector API)";
    }
}

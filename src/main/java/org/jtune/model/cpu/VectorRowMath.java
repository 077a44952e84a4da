package org.jtune.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@link RowMath} on the Vector API at the machine's preferred width. Loaded only where the module is present
 * ({@link RowMath#best()}), so that the rest of the engine runs without it.
 */
final class VectorRowMath implements RowMath {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** As many shorts as F has floats: one load of bf16 values widens to one float vector. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        // two accumulators so that consecutive fused multiply-adds do not wait on each other
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = F.length(), i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + step)
                    .fma(FloatVector.fromArray(F, b, bOff + i + step), acc1);
        }
        for (; i + step <= n; i += step) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    @Override
    public void dot4(float[] a, int aOff, float[] b, int bOff, int stride, int n, float[] out) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        int step = F.length(), i = 0;
        int b0 = bOff, b1 = bOff + stride, b2 = bOff + 2 * stride, b3 = bOff + 3 * stride;
        for (; i + step <= n; i += step) {
            FloatVector w = FloatVector.fromArray(F, a, aOff + i);
            acc0 = w.fma(FloatVector.fromArray(F, b, b0 + i), acc0);
            acc1 = w.fma(FloatVector.fromArray(F, b, b1 + i), acc1);
            acc2 = w.fma(FloatVector.fromArray(F, b, b2 + i), acc2);
            acc3 = w.fma(FloatVector.fromArray(F, b, b3 + i), acc3);
        }
        float s0 = acc0.reduceLanes(VectorOperators.ADD), s1 = acc1.reduceLanes(VectorOperators.ADD);
        float s2 = acc2.reduceLanes(VectorOperators.ADD), s3 = acc3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float w = a[aOff + i];
            s0 += w * b[b0 + i];
            s1 += w * b[b1 + i];
            s2 += w * b[b2 + i];
            s3 += w * b[b3 + i];
        }
        out[0] = s0;
        out[1] = s1;
        out[2] = s2;
        out[3] = s3;
    }

    @Override
    public float dot(float[] a, int aOff, MemorySegment b, long bOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int step = F.length(), i = 0;
        for (; i + step <= n; i += step) {
            acc = FloatVector.fromArray(F, a, aOff + i)
                    .fma(FloatVector.fromMemorySegment(F, b, bOffset + 4L * i, LE), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b.get(F32, bOffset + 4L * i);
        }
        return s;
    }

    @Override
    public void axpy(float alpha, MemorySegment x, long xOffset, float[] y, int yOff, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int step = F.length(), i = 0;
        for (; i + step <= n; i += step) {
            FloatVector.fromMemorySegment(F, x, xOffset + 4L * i, LE)
                    .fma(a, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += alpha * x.get(F32, xOffset + 4L * i);
        }
    }

    @Override
    public void widenBf16(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int step = S.length(), i = 0;
        for (; i + step <= n; i += step) {
            // bf16 is the top half of a float32: widen each short to an int and shift it into place
            ShortVector bits = ShortVector.fromMemorySegment(S, src, offset + 2L * i, LE);
            IntVector wide = (IntVector) bits.convertShape(VectorOperators.S2I, I, 0);
            wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            short b = src.get(I16, offset + 2L * i);
            dst[dstOff + i] = Float.intBitsToFloat(b << 16);
        }
    }

    @Override
    public String describe() {
        return "Vector API, " + F.vectorBitSize() + "-bit";
    }
}

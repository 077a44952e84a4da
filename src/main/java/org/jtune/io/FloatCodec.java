package org.jtune.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;

/** Converts little-endian F32/F64/BF16/F16 tensor bytes to float32 arrays and float32 arrays to such bytes. */
final class FloatCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FloatCodec() {}

    /** True for the dtypes {@link #decode} reads. */
    static boolean canDecode(DType dtype) {
        return dtype == DType.F32 || dtype == DType.F64 || dtype == DType.BF16 || dtype == DType.F16;
    }

    /** True for the dtypes {@link #encode} writes. */
    static boolean canEncode(DType dtype) {
        return dtype == DType.F32 || dtype == DType.BF16 || dtype == DType.F16;
    }

    /** Reads {@code count} elements of {@code dtype} from {@code data} as float32 (F64 rounds to nearest). */
    static float[] decode(MemorySegment data, DType dtype, int count) {
        float[] out = new float[count];
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, 0, out, 0, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = (float) data.getAtIndex(F64, i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.bf16ToFloat(data.getAtIndex(I16, i));
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.f16ToFloat(data.getAtIndex(I16, i));
                }
            }
            default -> throw new IllegalArgumentException("cannot read " + dtype + " as float");
        }
        return out;
    }

    /** Encodes {@code values} as little-endian {@code dtype} bytes (F32, or BF16/F16 rounded to nearest even). */
    static byte[] encode(float[] values, DType dtype) {
        byte[] bytes = new byte[Math.multiplyExact(values.length, dtype.byteSize())];
        MemorySegment out = MemorySegment.ofArray(bytes);
        switch (dtype) {
            case F32 -> MemorySegment.copy(values, 0, out, F32, 0, values.length);
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    out.setAtIndex(I16, i, HalfFloats.floatToBf16(values[i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    out.setAtIndex(I16, i, HalfFloats.floatToF16(values[i]));
                }
            }
            default -> throw new IllegalArgumentException("cannot write floats as " + dtype);
        }
        return bytes;
    }
}

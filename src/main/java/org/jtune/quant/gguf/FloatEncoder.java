package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;
import org.jtune.tensor.HalfFloats;

/** F32, F16 and BF16 "blocks" of one value each; F16 and BF16 round to nearest even. */
final class FloatEncoder implements RowEncoder {
    private final GgmlType type;

    FloatEncoder(GgmlType type) {
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16) {
            throw new IllegalArgumentException(type + " is not a float type");
        }
        this.type = type;
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public void encode(float[] src, int srcOffset, int count, byte[] dst, int dstOffset) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    Bytes.putInt(dst, dstOffset + 4 * i, Float.floatToRawIntBits(src[srcOffset + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    Bytes.putShort(dst, dstOffset + 2 * i, HalfFloats.floatToF16(src[srcOffset + i]));
                }
            }
            default -> {
                for (int i = 0; i < count; i++) {
                    Bytes.putShort(dst, dstOffset + 2 * i, HalfFloats.floatToBf16(src[srcOffset + i]));
                }
            }
        }
    }
}

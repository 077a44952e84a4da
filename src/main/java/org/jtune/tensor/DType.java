package org.jtune.tensor;

import java.util.Locale;

/**
 * Element types, named as in the safetensors format. Sub-byte types have {@link #bits()} below 8;
 * a tensor of them occupies {@code count * bits / 8} bytes.
 */
public enum DType {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8),
    I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32),
    F64(64), I64(64), U64(64), C64(64),
    F4(4), F6_E2M3(6), F6_E3M2(6);

    private final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    /** Bits per element. */
    public int bits() {
        return bits;
    }

    /** Bytes per element, for types of whole bytes. */
    public int byteSize() {
        if (bits % 8 != 0) {
            throw new UnsupportedOperationException(this + " has no whole-byte element size (" + bits + " bits)");
        }
        return bits / 8;
    }

    /** True for the floating-point types the math runs on (F32, BF16, F16). */
    public boolean isComputeFloat() {
        return this == F32 || this == BF16 || this == F16;
    }

    /** Parses a safetensors dtype string such as {@code "BF16"}. */
    public static DType fromSafetensors(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown dtype \"" + name + "\"", e);
        }
    }
}

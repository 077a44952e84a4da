package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;

/** Reads runs of F32, BF16 or F16 tensor elements into a float buffer, converting exactly. */
final class WeightReader {
    private WeightReader() {}

    /** Throws unless dtype is one of the weight types that can be quantized. */
    static void requireSupported(DType dtype, String tensor) {
        if (!dtype.isComputeFloat()) {
            throw new IllegalArgumentException("cannot quantize " + tensor + " of dtype " + dtype
                    + " (expected F32, BF16 or F16)");
        }
    }

    /** Copies elements [start, start+length) of src into out[0..length). */
    static void read(MemorySegment src, DType dtype, long start, int length, float[] out) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < length; i++) {
                    out[i] = src.getAtIndex(LittleEndian.F32, start + i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(src.getAtIndex(LittleEndian.I16, start + i));
                }
            }
            case F16 -> {
                for (int i = 0; i < length; i++) {
                    out[i] = HalfFloats.f16ToFloat(src.getAtIndex(LittleEndian.I16, start + i));
                }
            }
            default -> throw new IllegalArgumentException("cannot read " + dtype + " as weights");
        }
    }
}

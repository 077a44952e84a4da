package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;

/**
 * Encodes float32 values into the blocks of one ggml type, as ggml's reference quantizers do (the functions
 * llama.cpp's quantize tool calls when no importance matrix is given), so that a file written here holds the same
 * bytes llama.cpp would write for the same values. Stateless and thread-safe.
 */
public interface RowEncoder {
    GgmlType type();

    /**
     * Encodes {@code count} values of {@code src} from {@code srcOffset} into {@code dst} from {@code dstOffset};
     * {@code count} must be a multiple of the type's block size. Writes {@code type().rowBytes(count)} bytes.
     */
    void encode(float[] src, int srcOffset, int count, byte[] dst, int dstOffset);

    /** The encoder of a type. */
    static RowEncoder forType(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16 -> new FloatEncoder(type);
            case Q8_0 -> new Q80Encoder();
            case Q4_0 -> new Q40Encoder();
            case Q5_0 -> new Q50Encoder();
            case Q4_K -> new Q4KEncoder();
            case Q5_K -> new Q5KEncoder();
            case Q6_K -> new Q6KEncoder();
        };
    }

    /** Checks that {@code count} values make whole blocks. */
    default void requireBlocks(int count) {
        if (!type().fitsRow(count)) {
            throw new IllegalArgumentException(type() + " encodes blocks of " + type().blockSize() + " values; got "
                    + count);
        }
    }

    /**
     * The value of largest magnitude among {@code x[from .. from + n)}, sign kept (the first such value on a tie, as
     * ggml's reference quantizers pick it).
     */
    static float largestMagnitude(float[] x, int from, int n) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < n; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }
}

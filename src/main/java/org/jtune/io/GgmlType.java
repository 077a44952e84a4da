package org.jtune.io;

/**
 * The ggml tensor types a GGUF file written here may hold, with their numeric ids in the file and their block
 * layouts: {@code blockSize} elements stored in {@code blockBytes} bytes (1 element per block for plain floats).
 * The layouts are ggml's ({@code ggml-common.h}); the encoders are in {@code org.jtune.quant.gguf}.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q5_0(6, 32, 22),
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The type's number in a GGUF tensor info. */
    public int id() {
        return id;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether a row of {@code elements} values splits into whole blocks of this type. */
    public boolean fitsRow(long elements) {
        return elements % blockSize == 0;
    }

    /** Bytes of a row of {@code elements} values; the row must split into whole blocks. */
    public long rowBytes(long elements) {
        if (!fitsRow(elements)) {
            throw new IllegalArgumentException(this + " stores rows in blocks of " + blockSize + " values; a row of "
                    + elements + " does not split into whole blocks");
        }
        return elements / blockSize * blockBytes;
    }

    /** The name llama.cpp prints for the type, e.g. {@code q4_K}. */
    public String displayName() {
        return name().endsWith("_K") ? name().toLowerCase(java.util.Locale.ROOT).replace("_k", "_K")
                : name().toLowerCase(java.util.Locale.ROOT);
    }
}

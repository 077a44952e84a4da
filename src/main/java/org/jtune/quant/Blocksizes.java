package org.jtune.quant;

/** The blocksizes bitsandbytes accepts for 4-bit quantization: powers of two from 32 to 4096. */
public final class Blocksizes {
    private Blocksizes() {}

    /** The blocksize HF transformers always uses. */
    public static final int DEFAULT = 64;

    /** True for 32, 64, ..., 4096. */
    public static boolean isAllowed(long blocksize) {
        return blocksize >= 32 && blocksize <= 4096 && Long.bitCount(blocksize) == 1;
    }

    /** Returns blocksize if allowed, else throws naming the value and the tensor. */
    public static int require(long blocksize, String tensor) {
        if (!isAllowed(blocksize)) {
            throw new IllegalArgumentException("blocksize " + blocksize + " of " + tensor
                    + " is not allowed (must be a power of two from 32 to 4096)");
        }
        return (int) blocksize;
    }
}

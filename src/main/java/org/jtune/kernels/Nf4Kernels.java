package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * Dequantizes bitsandbytes NF4 weights to bf16 on the GPU, bit for bit as bitsandbytes does, with
 * float32 or double-quantized absmax ({@code nf4.ptx}).
 */
public final class Nf4Kernels {
    private static final int GROUP = 32;
    /** Elements a warp dequantizes per step: 512 bytes of codes. */
    private static final int WARP_CHUNK = 1024;
    private static final int BLOCK = 256;

    private final Kernel plain;
    private final Kernel doubleQuant;
    private final int plainResidentBlocks;
    private final int doubleQuantResidentBlocks;

    public Nf4Kernels(Context context) {
        this.plain = context.module("nf4").kernel("nf4_dequantize_bf16");
        this.doubleQuant = context.module("nf4").kernel("nf4_dequantize_dq_bf16");
        int multiprocessors = context.device().multiprocessors();
        this.plainResidentBlocks = multiprocessors * plain.maxActiveBlocksPerMultiprocessor(BLOCK, 0);
        this.doubleQuantResidentBlocks = multiprocessors * doubleQuant.maxActiveBlocksPerMultiprocessor(BLOCK, 0);
    }

    /**
     * out[j] = bf16(NF4[code j] * absmax[j / blocksize]) for {@code n} elements (a multiple of 32);
     * {@code absmax} float32, one per block of {@code blocksize} (a power of two, at least 32).
     */
    public void dequantize(Stream stream, DeviceBuffer out, DeviceBuffer packed, DeviceBuffer absmax, long n,
                           int blocksize) {
        String name = "nf4 dequantize";
        long blocks = checkCommon(name, out, packed, n, blocksize);
        Checks.buffer(name, "absmax", absmax, 4 * blocks, 4);
        plain.launch(stream, shape(n, plainResidentBlocks), out, packed, absmax, n, log2(blocksize));
    }

    /**
     * As {@link #dequantize}, with double-quantized absmax: absmax[b] =
     * fl32(fl32(nestedMap[qabs[b]] * nestedAbsmax[b / nestedBlocksize]) + offset).
     */
    public void dequantizeDoubleQuant(Stream stream, DeviceBuffer out, DeviceBuffer packed, DeviceBuffer qabs,
                                      DeviceBuffer nestedMap, DeviceBuffer nestedAbsmax, float offset, long n,
                                      int blocksize, int nestedBlocksize) {
        String name = "nf4 dequantize (double quant)";
        long blocks = checkCommon(name, out, packed, n, blocksize);
        requirePowerOfTwo(name, "nested block size", nestedBlocksize, 1);
        Checks.buffer(name, "qabs", qabs, blocks, 1);
        Checks.buffer(name, "nested map", nestedMap, 4 * 256, 4);
        Checks.buffer(name, "nested absmax", nestedAbsmax, 4 * ((blocks + nestedBlocksize - 1) / nestedBlocksize), 4);
        doubleQuant.launch(stream, shape(n, doubleQuantResidentBlocks), out, packed, qabs, nestedMap, nestedAbsmax, offset, n, log2(blocksize),
                log2(nestedBlocksize));
    }

    private static long checkCommon(String name, DeviceBuffer out, DeviceBuffer packed, long n, int blocksize) {
        Checks.positive(name, "n", n);
        Checks.multipleOf(name, "element count n", n, GROUP);
        requirePowerOfTwo(name, "block size", blocksize, GROUP);
        Checks.buffer(name, "out", out, 2 * n, 16);
        Checks.buffer(name, "packed", packed, n / 2, 16);
        return (n + blocksize - 1) / blocksize;
    }

    private static void requirePowerOfTwo(String name, String what, int value, int minimum) {
        if (value < minimum || Integer.bitCount(value) != 1) {
            throw new IllegalArgumentException(name + ": " + what + " must be a power of two of at least " + minimum
                    + ", got " + value);
        }
    }

    private static int log2(int powerOfTwo) {
        return Integer.numberOfTrailingZeros(powerOfTwo);
    }

    /**
     * At most as many blocks as fit on the device at once (warps stride over the chunks, and each warp
     * loads its decoding table once), and no more than there are chunks for.
     */
    private static LaunchShape shape(long n, int residentBlocks) {
        long chunks = (n + WARP_CHUNK - 1) / WARP_CHUNK;
        long blocks = LaunchShape.blocksFor(chunks, BLOCK / 32);
        return LaunchShape.of((int) Math.max(1, Math.min(residentBlocks, blocks)), BLOCK);
    }
}

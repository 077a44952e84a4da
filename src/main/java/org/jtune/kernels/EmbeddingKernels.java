package org.jtune.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;
import org.jtune.tensor.HalfFloats;

/**
 * Token embedding lookup on bf16, plain or scaled ({@code embedding.ptx}). Ids live on the device, so a bad id cannot
 * be refused before the launch: the kernel writes zeros for it and raises a device error flag, which
 * {@link #throwIfBadIds} reads back when the caller chooses to synchronize.
 */
public final class EmbeddingKernels {
    /** Size of the error flag: int32 flag, int32 offending id. */
    public static final int ERROR_FLAG_BYTES = 8;

    private final Kernel gather;
    private final Kernel gatherScaled;

    public EmbeddingKernels(Context context) {
        this.gather = context.module("embedding").kernel("embedding_gather_bf16");
        this.gatherScaled = context.module("embedding").kernel("embedding_gather_scaled_bf16");
    }

    /** out[t] = table[ids[t]] for {@code tokens} int32 ids; rows of {@code d} bf16 (a multiple of 8). */
    public void gather(Stream stream, DeviceBuffer out, DeviceBuffer table, DeviceBuffer ids, DeviceBuffer errorFlag,
                       int tokens, int vocab, int d) {
        check("embedding gather", out, table, ids, errorFlag, tokens, vocab, d);
        gather.launch(stream, shape(tokens, d), out, table, ids, errorFlag, tokens, vocab, d);
    }

    /**
     * out[t] = bf16(table[ids[t]] · s) with s = bf16(scale): Gemma 3's embeddings times sqrt(hidden_size), which HF
     * casts to the weights' dtype before the (once rounded) product.
     */
    public void gatherScaled(Stream stream, DeviceBuffer out, DeviceBuffer table, DeviceBuffer ids,
                             DeviceBuffer errorFlag, int tokens, int vocab, int d, float scale) {
        check("scaled embedding gather", out, table, ids, errorFlag, tokens, vocab, d);
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("scaled embedding gather: scale must be finite, got " + scale);
        }
        int bits = HalfFloats.floatToBf16(scale) & 0xFFFF;
        gatherScaled.launch(stream, shape(tokens, d), out, table, ids, errorFlag, tokens, vocab, d,
                bits | (bits << 16));
    }

    private static void check(String name, DeviceBuffer out, DeviceBuffer table, DeviceBuffer ids,
                              DeviceBuffer errorFlag, int tokens, int vocab, int d) {
        Checks.positive(name, "tokens", tokens);
        Checks.positive(name, "vocab", vocab);
        Checks.positive(name, "row length d", d);
        Checks.multipleOf(name, "row length d", d, 8);
        Checks.buffer(name, "out", out, 2L * tokens * d, 16);
        Checks.buffer(name, "table", table, 2L * vocab * d, 16);
        Checks.buffer(name, "ids", ids, 4L * tokens, 4);
        Checks.buffer(name, "error flag", errorFlag, ERROR_FLAG_BYTES, 4);
    }

    /** One block per token, a thread per 16-byte vector up to 1024 (rounded up to whole warps). */
    private static LaunchShape shape(int tokens, int d) {
        return LaunchShape.of(tokens, Math.min(1024, Math.max(32, (d / 8 + 31) / 32 * 32)));
    }

    /** Queues clearing the error flag; do it before the gathers it should watch. */
    public static void clearErrorFlag(Stream stream, DeviceBuffer errorFlag) {
        Checks.buffer("embedding error flag", "error flag", errorFlag, ERROR_FLAG_BYTES, 4);
        errorFlag.fillWordsAsync(0, stream);
    }

    /**
     * Waits for {@code stream} and throws if a gather since the last clear met an id outside
     * [0, vocab), naming one such id.
     */
    public static void throwIfBadIds(Stream stream, DeviceBuffer errorFlag, int vocab) {
        stream.synchronize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ERROR_FLAG_BYTES);
            errorFlag.copyToHost(host);
            if (host.get(ValueLayout.JAVA_INT, 0) != 0) {
                throw new IllegalArgumentException("embedding gather: token id " + host.get(ValueLayout.JAVA_INT, 4)
                        + " is outside the vocabulary [0, " + vocab + "); its embedding rows were written as zeros");
            }
        }
    }
}

package org.jtune.kernels;

import java.util.Arrays;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * Causal grouped-query attention on the GPU over packed documents (flash_attn.ptx, flash_attn_bwd.ptx): bf16 q, k,
 * v, output and gradients, float32 log-sum-exp saved for the backward pass. Layout [tokens, heads, headDim].
 */
public final class FlashAttention {
    /** Keys per shared-memory tile of the forward kernels, query rows per backward item. */
    static final int TILE = 64;
    /**
     * Query rows per forward block (32 per warp, 16 at head dimension 256): each K/V tile loaded serves this many
     * queries.
     */
    static final int FORWARD_QUERY_TILE = 128;
    /** Keys per backward block (16 per warp): larger key tiles mean fewer dQ atomics per unit of work. */
    static final int BACKWARD_KEY_TILE = 128;
    static final int BACKWARD_THREADS = 256;
    /** The backward grid's key-tile index is its z dimension, limited to 65,535. */
    private static final int MAX_GRID_Z = 65_535;
    /** Documents are the grid's z dimension. */
    static final int MAX_DOCUMENTS = 65_535;

    /** Blocks of the element-wise dQ conversion: enough to fill the GPU, the rest is a grid-stride loop. */
    private static final int CONVERT_BLOCKS = 2048;

    private final Kernel forward64;
    private final Kernel forward128;
    private final Kernel forward256;
    private final Kernel backwardPrep;
    private final Kernel backward64;
    private final Kernel backward128;
    private final Kernel backwardDq;

    /** Loads the kernels into {@code context} and raises their shared-memory limits. */
    public FlashAttention(Context context) {
        var module = context.module("flash_attn");
        forward64 = module.kernel("flash_attn_fwd_d64");
        forward128 = module.kernel("flash_attn_fwd_d128");
        forward256 = module.kernel("flash_attn_fwd_d256");
        forward64.allowDynamicSharedMemory(forwardSharedBytes(64));
        forward128.allowDynamicSharedMemory(forwardSharedBytes(128));
        forward256.allowDynamicSharedMemory(forwardSharedBytes(256));
        var backwardModule = context.module("flash_attn_bwd");
        backwardPrep = backwardModule.kernel("flash_attn_bwd_prep");
        backward64 = backwardModule.kernel("flash_attn_bwd_d64");
        backward128 = backwardModule.kernel("flash_attn_bwd_d128");
        backwardDq = backwardModule.kernel("flash_attn_bwd_dq");
        backward64.allowDynamicSharedMemory(backwardSharedBytes(64));
        backward128.allowDynamicSharedMemory(backwardSharedBytes(128));
    }

    /**
     * Head layout of one attention call.
     *
     * @param window 0 for plain causal attention; otherwise query i sees key j only if {@code i - window < j <= i}
     * @param scale  the score scale: 1/sqrt(headDim) for most families, 1/sqrt(query_pre_attn_scalar) for Gemma 3
     */
    public record Heads(int heads, int kvHeads, int headDim, int window, float scale) {
        public Heads {
            if (heads <= 0 || kvHeads <= 0 || window < 0) {
                throw new IllegalArgumentException("invalid attention heads: " + heads + " query heads, " + kvHeads
                        + " kv heads, window " + window);
            }
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException("query heads " + heads + " not a multiple of kv heads " + kvHeads);
            }
            if (headDim != 64 && headDim != 128 && headDim != 256) {
                throw new IllegalArgumentException("head dimension " + headDim + " is not supported (64, 128 or 256;"
                        + " the backward 64 or 128)");
            }
            if (!(scale > 0) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("attention score scale must be a positive number, got " + scale);
            }
        }

        /** The usual score scale 1/sqrt(headDim), rounded to float. */
        public Heads(int heads, int kvHeads, int headDim, int window) {
            this(heads, kvHeads, headDim, window, (float) (1.0 / Math.sqrt(headDim)));
        }
    }

    /**
     * Document boundaries of the packed token array, as cumulative offsets (flash-attention's cu_seqlens):
     * document b holds tokens [offsets[b], offsets[b+1]). Attention never crosses a document; the boundaries of
     * batch rows are document boundaries too. The kernels read the same offsets from a device int32 buffer.
     */
    public record Documents(int[] offsets) {
        public Documents {
            if (offsets.length < 2) {
                throw new IllegalArgumentException("document offsets need at least 2 entries (0 and the token count), got "
                        + Arrays.toString(offsets));
            }
            if (offsets[0] != 0) {
                throw new IllegalArgumentException("document offsets must start at 0, got " + offsets[0]);
            }
            for (int b = 1; b < offsets.length; b++) {
                if (offsets[b] <= offsets[b - 1]) {
                    throw new IllegalArgumentException("document " + (b - 1) + " is empty or reversed: offsets "
                            + offsets[b - 1] + " then " + offsets[b]);
                }
            }
            if (offsets.length - 1 > MAX_DOCUMENTS) {
                throw new IllegalArgumentException((offsets.length - 1) + " documents in one call; at most "
                        + MAX_DOCUMENTS + " are supported");
            }
            offsets = offsets.clone();
        }

        @Override
        public int[] offsets() {
            return offsets.clone();
        }

        public int count() {
            return offsets.length - 1;
        }

        public int tokens() {
            return offsets[offsets.length - 1];
        }

        public int maxLength() {
            int max = 0;
            for (int b = 0; b < count(); b++) {
                max = Math.max(max, offsets[b + 1] - offsets[b]);
            }
            return max;
        }

        /** Bytes of the int32 device copy of the offsets. */
        public long deviceBytes() {
            return 4L * offsets.length;
        }
    }

    /**
     * Queues the forward pass: {@code out = softmax(scale · q·kᵀ, causal, per document) · v} and
     * {@code lse} = the log-sum-exp (natural log) of each query row's scaled scores.
     * q, out bf16 [tokens, heads·d]; k, v bf16 [tokens, kvHeads·d]; lse float32 [tokens, heads];
     * cuSeqlens int32 [documents + 1] holding {@code documents.offsets()}.
     */
    public void forward(Stream stream, Heads heads, Documents documents, DeviceBuffer cuSeqlens,
                        DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, DeviceBuffer lse) {
        long tokens = documents.tokens();
        long qBytes = 2L * tokens * heads.heads() * heads.headDim();
        long kvBytes = 2L * tokens * heads.kvHeads() * heads.headDim();
        requireBuffer("document offsets (cu_seqlens)", cuSeqlens, documents.deviceBytes());
        requireBuffer("q", q, qBytes);
        requireBuffer("k", k, kvBytes);
        requireBuffer("v", v, kvBytes);
        requireBuffer("attention output", out, qBytes);
        requireBuffer("log-sum-exp", lse, 4L * tokens * heads.heads());
        Kernel kernel = switch (heads.headDim()) {
            case 64 -> forward64;
            case 128 -> forward128;
            default -> forward256;
        };
        int queryTiles = (documents.maxLength() + FORWARD_QUERY_TILE - 1) / FORWARD_QUERY_TILE;
        LaunchShape shape = new LaunchShape(queryTiles, heads.heads(), documents.count(),
                forwardThreads(heads.headDim()), 1, 1, forwardSharedBytes(heads.headDim()));
        kernel.launch(stream, shape, q, k, v, out, lse, cuSeqlens, heads.heads(), heads.kvHeads(), heads.window(),
                heads.scale());
    }

    /**
     * Queues the backward pass of {@link #forward}: dQ, dK, dV (bf16, shaped as q, k, v; dK and dV summed over the
     * query heads of each kv head). {@code out} and {@code lse} are the forward's results, {@code dOut} the gradient
     * of the output. {@code workspace} holds float32 scratch of {@link #backwardWorkspaceBytes} bytes: the dQ
     * accumulator (key tiles add their dQ parts to it with atomics, then one pass scales and rounds it to bf16)
     * and the per-row sums of dOut·out.
     */
    public void backward(Stream stream, Heads heads, Documents documents, DeviceBuffer cuSeqlens,
                         DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, DeviceBuffer lse,
                         DeviceBuffer dOut, DeviceBuffer workspace, DeviceBuffer dQ, DeviceBuffer dK, DeviceBuffer dV) {
        requireBackward(heads);
        int tokens = documents.tokens();
        long qBytes = 2L * tokens * heads.heads() * heads.headDim();
        long kvBytes = 2L * tokens * heads.kvHeads() * heads.headDim();
        requireBuffer("document offsets (cu_seqlens)", cuSeqlens, documents.deviceBytes());
        requireBuffer("q", q, qBytes);
        requireBuffer("k", k, kvBytes);
        requireBuffer("v", v, kvBytes);
        requireBuffer("attention output", out, qBytes);
        requireBuffer("log-sum-exp", lse, 4L * tokens * heads.heads());
        requireBuffer("attention output gradient", dOut, qBytes);
        requireBuffer("attention backward workspace", workspace, backwardWorkspaceBytes(heads, tokens));
        requireBuffer("dQ", dQ, qBytes);
        requireBuffer("dK", dK, kvBytes);
        requireBuffer("dV", dV, kvBytes);
        long dqAccum = workspace.address();
        long delta = dqAccum + dqAccumBytes(heads, tokens);
        int rows = Math.multiplyExact(tokens, heads.heads());
        backwardPrep.launch(stream, LaunchShape.of(LaunchShape.blocksFor(rows, 8), 256), out, dOut, delta, dqAccum,
                rows, heads.headDim());
        Kernel kernel = heads.headDim() == 64 ? backward64 : backward128;
        int keyTiles = (documents.maxLength() + BACKWARD_KEY_TILE - 1) / BACKWARD_KEY_TILE;
        if (keyTiles > MAX_GRID_Z) {
            throw new IllegalArgumentException("document of " + documents.maxLength() + " tokens: the attention backward"
                    + " handles at most " + (long) MAX_GRID_Z * BACKWARD_KEY_TILE + " tokens per document");
        }
        // Key tiles vary slowest so that the longest ones (the first keys of each causal document) start first.
        kernel.launch(stream, new LaunchShape(heads.kvHeads(), documents.count(), keyTiles, BACKWARD_THREADS, 1, 1,
                        backwardSharedBytes(heads.headDim())), q, k, v, dOut, lse, delta, dqAccum, dK, dV, cuSeqlens,
                heads.heads(), heads.kvHeads(), heads.window(), heads.scale());
        long pairs = qBytes / 4;
        backwardDq.launch(stream, LaunchShape.of(Math.min(CONVERT_BLOCKS, LaunchShape.blocksFor(pairs, 256)), 256),
                dqAccum, dQ, pairs, heads.scale());
    }

    /**
     * Refuses head dimensions the backward has no kernel for. At 256 the current tiling (16 keys a warp, 64-query
     * items) needs 320 accumulator registers a thread for dK, dV and dQ alone and 273 KiB of shared memory, more
     * than a thread (255) or a block (227 KiB on sm_90) has: it needs a different tiling.
     */
    public static void requireBackward(Heads heads) {
        if (heads.headDim() != 64 && heads.headDim() != 128) {
            throw new IllegalArgumentException("the attention backward supports head dimension 64 or 128, not "
                    + heads.headDim() + " (its kernel's tiling does not fit larger heads in registers and shared"
                    + " memory)");
        }
    }

    /** Bytes of the float32 scratch {@link #backward} needs for {@code tokens} tokens. */
    public static long backwardWorkspaceBytes(Heads heads, int tokens) {
        return dqAccumBytes(heads, tokens) + 4L * tokens * heads.heads();
    }

    /** The dQ accumulator, rounded up so that the row sums after it stay 256-byte aligned. */
    private static long dqAccumBytes(Heads heads, int tokens) {
        return (4L * tokens * heads.heads() * heads.headDim() + 255) / 256 * 256;
    }

    /** Four warps of two 16-row m-tiles; at head dimension 256 eight warps of one (their outputs fill registers). */
    static int forwardThreads(int headDim) {
        return headDim == 256 ? 256 : 128;
    }

    /**
     * The 128-row Q tile plus two stages of K and V tiles, bf16: 64-row tiles, 32-row ones at head dimension 256
     * (128 KiB in all, within what a block of sm_80 may have).
     */
    static int forwardSharedBytes(int headDim) {
        int kvTile = Math.min(TILE, 8192 / headDim);
        return (FORWARD_QUERY_TILE + 4 * kvTile) * headDim * 2;
    }

    /**
     * 128-key K and V tiles, two stages of 64-query Q and dO tiles (bf16; a used stage also holds the block's
     * float32 dQ part before it goes to the accumulator), the 128x64 bf16 dS tile and two stages of the item's 64
     * log-sum-exp and 64 row-sum values.
     */
    static int backwardSharedBytes(int headDim) {
        return 2 * BACKWARD_KEY_TILE * headDim * 2 + 4 * TILE * headDim * 2 + BACKWARD_KEY_TILE * TILE * 2
                + 2 * 2 * TILE * 4;
    }

    /** Checks a buffer's size and the 16-byte alignment the kernels' vector copies need. */
    static void requireBuffer(String what, DeviceBuffer buffer, long bytes) {
        if (buffer.bytes() < bytes) {
            throw new IllegalArgumentException(what + ": device buffer of " + buffer.bytes() + " bytes, needs "
                    + bytes);
        }
        if (buffer.address() % 16 != 0) {
            throw new IllegalArgumentException(what + ": device address 0x" + Long.toHexString(buffer.address())
                    + " is not 16-byte aligned");
        }
    }
}

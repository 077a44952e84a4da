package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * Attention of new query tokens over a bf16 key/value cache ({@code decode_attention.ptx}), split over the cached
 * sequence, grouped-query and sliding-window aware, with the new token's RoPE and cache append fused in.
 *
 * <p>Cache layout: K and V bf16 {@code [slots, capacity, kvHeads, headDim]}, one contiguous block of positions
 * per slot, so a prefill's key and value projections write straight into the cache and flash attention reads them
 * there; a decode step reads each cached key as one row of 2·headDim bytes (head dimension 64, 128 or 256).
 */
public final class DecodeAttention {
    private static final int THREADS = 128;
    /** Fewest keys a block takes: below this the block's fixed costs dominate. */
    private static final int MIN_CHUNK = 32;
    /** Most runs a row is split into: bounds the partial sums and the combining work. */
    private static final int MAX_SPLITS = 32;

    /**
     * The shapes one engine attends with, fixed when its buffers are planned.
     *
     * @param window  0, or the sliding window: a query at position p sees keys p - window < j <= p
     * @param maxRows the most query rows of one launch (the partial sums are sized for it)
     * @param scale   the score scale: 1/sqrt(headDim) for most families, 1/sqrt(query_pre_attn_scalar) for Gemma 3
     */
    public record Layout(int heads, int kvHeads, int headDim, int window, int slots, int capacity, int maxRows,
                         float scale) {
        public Layout {
            if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("attention heads " + heads + " are not a positive multiple of the "
                        + kvHeads + " key/value heads");
            }
            if (headDim != 64 && headDim != 128 && headDim != 256) {
                throw new IllegalArgumentException("decode attention supports head dimension 64, 128 or 256, got "
                        + headDim);
            }
            if (!(scale > 0) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("attention score scale must be a positive number, got " + scale);
            }
            if (window < 0 || slots <= 0 || capacity <= 0 || maxRows <= 0) {
                throw new IllegalArgumentException("invalid decode attention layout: window " + window + ", "
                        + slots + " slots of " + capacity + " positions, " + maxRows + " rows");
            }
        }

        /** The usual score scale 1/sqrt(headDim), rounded to float. */
        public Layout(int heads, int kvHeads, int headDim, int window, int slots, int capacity, int maxRows) {
            this(heads, kvHeads, headDim, window, slots, capacity, maxRows, (float) (1.0 / Math.sqrt(headDim)));
        }

        /** Keys one block takes: runs of the longest key range, at most {@value #MAX_SPLITS} of them. */
        public int chunk() {
            return Math.max(MIN_CHUNK, Math.ceilDiv(longestRange(), MAX_SPLITS));
        }

        public int splits() {
            return Math.ceilDiv(longestRange(), chunk());
        }

        private int longestRange() {
            return window > 0 ? Math.min(window, capacity) : capacity;
        }

        /** Bytes of one cache (K or V). */
        public long cacheBytes() {
            return 2L * slots * capacity * kvHeads * headDim;
        }

        /** Bytes of the float32 sums of split runs: [maxRows, heads, splits, headDim]. */
        public long partialSumBytes() {
            return 4L * maxRows * heads * splits() * headDim;
        }

        /** Bytes of the runs' float32 (max, sum) pairs. */
        public long partialMaxSumBytes() {
            return 8L * maxRows * heads * splits();
        }

        /** Bytes of the uint32 run counters [maxRows, heads]; they must be zero before the first launch. */
        public long counterBytes() {
            return 4L * maxRows * heads;
        }
    }

    /** The split runs' scratch: partial sums, (max, sum) pairs and counters as {@link Layout} sizes them. */
    public record Workspace(DeviceBuffer partialSums, DeviceBuffer partialMaxSums, DeviceBuffer counters) {}

    private final Kernel kernel;

    public DecodeAttention(Context context) {
        this.kernel = context.module("decode_attention").kernel("decode_attention");
    }

    /**
     * Queues attention of {@code rows} query rows: row r is position {@code positions[r]} of the sequence in slot
     * {@code slots[r]} (int32 device arrays), its query heads in {@code q} [rows, ldq] (bf16), and it attends to that
     * slot's cached keys up to and including its position. Output bf16 [rows, ldo], head h at columns
     * {@code h·headDim}.
     *
     * @param rotateQ   apply RoPE (inv_freq float32 [headDim / 2]) to q for the row's position first
     * @param kNew      null, or the rows' new keys (not yet rotated) [rows, ldkv], and
     * @param vNew      their values: rotated and written into the cache at the row's position, and used as its key
     *                  (each row's slot must then be distinct); with null, the cache already holds them
     */
    public void attend(Stream stream, Layout layout, Workspace workspace, DeviceBuffer q, int ldq, boolean rotateQ,
                       DeviceBuffer kNew, DeviceBuffer vNew, int ldkv, DeviceBuffer slots, DeviceBuffer positions,
                       DeviceBuffer kCache, DeviceBuffer vCache, DeviceBuffer invFreq, DeviceBuffer out, int ldo,
                       int rows) {
        String name = "decode attention";
        if (rows < 1 || rows > layout.maxRows()) {
            throw new IllegalArgumentException(name + ": " + rows + " rows; the layout was planned for 1 to "
                    + layout.maxRows());
        }
        int qWidth = layout.heads() * layout.headDim(), kvWidth = layout.kvHeads() * layout.headDim();
        requireStride(name, "ldq", ldq, qWidth);
        requireStride(name, "ldo", ldo, qWidth);
        Checks.buffer(name, "q", q, 2 * ((long) (rows - 1) * ldq + qWidth), 16);
        Checks.buffer(name, "out", out, 2 * ((long) (rows - 1) * ldo + qWidth), 16);
        Checks.buffer(name, "slots", slots, 4L * rows, 4);
        Checks.buffer(name, "positions", positions, 4L * rows, 4);
        Checks.buffer(name, "key cache", kCache, layout.cacheBytes(), 16);
        Checks.buffer(name, "value cache", vCache, layout.cacheBytes(), 16);
        Checks.buffer(name, "partial sums", workspace.partialSums(), layout.partialSumBytes(), 16);
        Checks.buffer(name, "partial max/sum pairs", workspace.partialMaxSums(), layout.partialMaxSumBytes(), 16);
        Checks.buffer(name, "run counters", workspace.counters(), layout.counterBytes(), 4);
        boolean append = kNew != null;
        if (append != (vNew != null)) {
            throw new IllegalArgumentException(name + ": new keys and new values come together or not at all");
        }
        if (append) {
            requireStride(name, "ldkv", ldkv, kvWidth);
            Checks.buffer(name, "new keys", kNew, 2 * ((long) (rows - 1) * ldkv + kvWidth), 2);
            Checks.buffer(name, "new values", vNew, 2 * ((long) (rows - 1) * ldkv + kvWidth), 2);
        }
        if (rotateQ || append) {
            Checks.buffer(name, "inv_freq", invFreq, 4L * (layout.headDim() / 2), 4);
        }
        int flags = (rotateQ ? 1 : 0) | (append ? 2 : 0);
        LaunchShape shape = new LaunchShape(layout.splits(), layout.heads(), rows, THREADS, 1, 1, 0);
        kernel.launch(stream, shape, q, ldq, append ? kNew : (Object) 0L, append ? vNew : (Object) 0L,
                append ? ldkv : 0, slots, positions, kCache, vCache, invFreq == null ? (Object) 0L : invFreq, out,
                ldo, workspace.partialSums(), workspace.partialMaxSums(), workspace.counters(), rows, layout.heads(),
                layout.kvHeads(), layout.headDim(), layout.capacity(), layout.window(), layout.chunk(),
                layout.splits(), layout.scale(), flags);
    }

    private static void requireStride(String name, String what, int stride, int width) {
        if (stride < width || stride % 8 != 0) {
            throw new IllegalArgumentException(name + ": " + what + " = " + stride + " must be a multiple of 8 of at"
                    + " least " + width);
        }
    }
}

package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code flash_attn.ptx}: the attention forward for sm_80 and newer, one entry {@code flash_attn_fwd_d<D>} per head
 * dimension. A block takes a 128-row query tile: for d up to 128, 128 threads (4 warps of two 16-row m-tiles); for
 * d = 256, 256 threads (8 warps of one m-tile, whose 128 output registers a thread leave room for the rest). Key/value
 * tiles of {@code kv_tile} rows, at most 8192 / d (32 at d = 256, so that the Q tile and both stages take 128 KiB).
 * The launcher ({@code FlashAttention}) sizes threads and shared memory the same way ({@link #threads},
 * {@link #kvTile}).
 */
final class FlashAttentionForward implements KernelFile {
    private static final int Q_TILE = 128;
    /** Key/value rows the launcher's shared memory holds per stage (two stages of K and of V after the Q tile). */
    private static final int LAUNCHER_KV_TILE = 64;

    @Override
    public String name() {
        return "flash_attn";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.integers("head_dims", List.of(64L, 128L, 256L), "one entry per head dimension: 64, 128 or 256"),
                Parameter.integer("kv_tile", 64, "key/value rows per shared-memory stage: 16, 32 or 64 (at most 32 at"
                        + " d = 256)"));
    }

    /** m16 tiles a warp owns at head dimension d: two, or one at d = 256 (as the template's MT). */
    static long mTiles(long d) {
        return Math.min(2, 256 / d);
    }

    /** Threads of a block at head dimension d (as the template's THREADS). */
    static long threads(long d) {
        return Q_TILE / (16 * mTiles(d)) * 32;
    }

    /** Key/value rows a stage holds at head dimension d (as the template's KV_TILE). */
    static long kvTile(long kvTile, long d) {
        return Math.min(kvTile, 8192 / d);
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        List<Long> headDims = p.integers("head_dims");
        long kvTile = p.integer("kv_tile");
        p.require(!headDims.isEmpty() && headDims.stream().allMatch(d -> d == 64 || d == 128 || d == 256),
                "head dimensions must be 64, 128 or 256 (rows of at least 8 swizzled 16-byte chunks; a warp's output"
                        + " registers fit up to 256)");
        p.require(headDims.stream().distinct().count() == headDims.size(), "head dimensions repeat");
        p.require(kvTile >= 16 && kvTile <= LAUNCHER_KV_TILE && Long.bitCount(kvTile) == 1,
                "kv_tile must be 16, 32 or 64 (a power of two of whole k16 steps that fits the launcher's shared"
                        + " memory)");
        for (long d : headDims) {
            long pass = threads(d) / (d / 8);
            p.require(pass > 0 && kvTile(kvTile, d) % pass == 0, "the loader takes " + pass + " rows a pass at d = "
                    + d + ", more than a key/value tile of " + kvTile(kvTile, d));
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("HEAD_DIMS", headDims);
        v.put("ENTRIES", headDims.stream().map(d -> "flash_attn_fwd_d" + d).toList());
        v.put("SHARED_SIZES", String.join(", ", headDims.stream()
                .map(d -> (Q_TILE + 4 * kvTile(kvTile, d)) * d * 2 / 1024 + " KiB for d = " + d).toList()));
        v.put("THREADS_LIST", String.join(", ", headDims.stream()
                .map(d -> threads(d) + " threads for d = " + d).toList()));
        v.put("KV_TILES", String.join(", ", headDims.stream().map(d -> kvTile(kvTile, d) + " at d = " + d).toList()));
        v.put("Q_TILE", (long) Q_TILE);
        v.put("KV_TILE", kvTile);
        v.put("ROW_NAMES", List.of("A0", "B0", "A1", "B1"));
        return v;
    }
}

package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code flash_attn.ptx}: the attention forward for sm_80 and newer, one entry {@code flash_attn_fwd_d<D>} per head
 * dimension. The launcher ({@code FlashAttention}) starts 128 threads per 128-row query tile with
 * 6 * 64 * d * 2 bytes of shared memory, so a variant may stream smaller key/value tiles; head dimensions
 * other than 64 and 128 generate and assemble but have no launcher yet.
 */
final class FlashAttentionForward implements KernelFile {
    private static final int Q_TILE = 128;
    private static final int THREADS = 128;
    /** Key/value rows the launcher's shared memory holds per stage (two stages of K and of V after the Q tile). */
    private static final int LAUNCHER_KV_TILE = 64;

    @Override
    public String name() {
        return "flash_attn";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.integers("head_dims", List.of(64L, 128L), "one entry per head dimension, multiples of 64"),
                Parameter.integer("kv_tile", 64, "key/value rows per shared-memory stage: 16, 32 or 64"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        List<Long> headDims = p.integers("head_dims");
        long kvTile = p.integer("kv_tile");
        p.require(!headDims.isEmpty() && headDims.stream().allMatch(d -> d > 0 && d % 64 == 0),
                "head dimensions must be multiples of 64 (rows of at least 8 swizzled 16-byte chunks)");
        p.require(headDims.stream().distinct().count() == headDims.size(), "head dimensions repeat");
        p.require(kvTile >= 16 && kvTile <= LAUNCHER_KV_TILE && Long.bitCount(kvTile) == 1,
                "kv_tile must be 16, 32 or 64 (a power of two of whole k16 steps that fits the launcher's shared"
                        + " memory)");
        for (long d : headDims) {
            long pass = THREADS / (d / 8);
            p.require(pass > 0 && kvTile % pass == 0, "the loader takes " + pass + " rows a pass at d = " + d
                    + ", more than a key/value tile of " + kvTile);
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("HEAD_DIMS", headDims);
        v.put("ENTRIES", headDims.stream().map(d -> "flash_attn_fwd_d" + d).toList());
        v.put("SHARED_SIZES", String.join(", ", headDims.stream()
                .map(d -> (Q_TILE + 4 * kvTile) * d * 2 / 1024 + " KiB for d = " + d).toList()));
        v.put("Q_TILE", (long) Q_TILE);
        v.put("THREADS", (long) THREADS);
        v.put("KV_TILE", kvTile);
        // Score registers a thread holds per key tile: two m-tiles of (kv_tile / 8) n-tiles, 4 floats each.
        v.put("S", 2 * (kvTile / 8) * 4);
        v.put("ROW_NAMES", List.of("A0", "B0", "A1", "B1"));
        return v;
    }
}

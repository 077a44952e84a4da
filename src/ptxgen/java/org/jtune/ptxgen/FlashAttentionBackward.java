package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code flash_attn_bwd.ptx}: the attention backward for sm_80 and newer: the short {@code prep} and {@code dq}
 * kernels and one {@code flash_attn_bwd_d<D>} entry per head dimension. The launcher ({@code FlashAttention})
 * starts 256 threads per 128-key tile with 8 * 64 * d * 2 + 17408 bytes of shared memory, which the head
 * dimension alone decides; d = 64 and 128 fit one block's shared memory, 256 does not.
 */
final class FlashAttentionBackward implements KernelFile {
    private static final int KEY_TILE = 128;
    private static final int QUERY_TILE = 64;
    private static final int THREADS = 256;
    /** The most dynamic shared memory a block can opt in to on sm_80 and newer (A100: 163 KiB; H100: 227 KiB). */
    private static final int MAX_SHARED_BYTES = 163 * 1024;

    @Override
    public String name() {
        return "flash_attn_bwd";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.integers("head_dims", List.of(64L, 128L),
                "one entry per head dimension: 64 or 128 (larger ones exceed the shared memory of a block)"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        List<Long> headDims = p.integers("head_dims");
        p.require(!headDims.isEmpty() && headDims.stream().distinct().count() == headDims.size(),
                "head dimensions must be given once each");
        for (long d : headDims) {
            p.require(d > 0 && d % 64 == 0 && THREADS % (d / 8) == 0,
                    "head dimension " + d + " is not a multiple of 64 whose rows the 256 loader threads split evenly");
            p.require(sharedBytes(d) <= MAX_SHARED_BYTES, "head dimension " + d + " needs " + sharedBytes(d)
                    + " bytes of shared memory, more than a block has (" + MAX_SHARED_BYTES + ")");
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("HEAD_DIMS", headDims);
        v.put("ENTRY_LIST", String.join(" / ", headDims.stream().map(d -> "flash_attn_bwd_d" + d).toList()));
        v.put("SHARED_SIZES", headDims.stream().map(d -> sharedBytes(d) + " for d = " + d).toList());
        v.put("THREADS", (long) THREADS);
        v.put("KEY_TILE", (long) KEY_TILE);
        v.put("QUERY_TILE", (long) QUERY_TILE);
        // lse and delta of the item's queries, float32.
        v.put("LV_STAGE", 2L * QUERY_TILE * 4);
        return v;
    }

    /** K and V tiles, two stages of Q and dO tiles (bf16), the dS^T tile (bf16) and two stages of lse and delta. */
    static long sharedBytes(long d) {
        return (2L * KEY_TILE + 4L * QUERY_TILE) * d * 2 + 2L * KEY_TILE * QUERY_TILE + 2 * 2L * QUERY_TILE * 4;
    }
}

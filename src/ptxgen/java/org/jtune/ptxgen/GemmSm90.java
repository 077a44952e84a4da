package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gemm_bf16_sm90.ptx}: the Hopper GEMM, a producer warpgroup feeding two wgmma consumer warpgroups
 * through a ring of shared-memory stages. The launcher ({@code GemmKernels}) starts 384 threads per 128 x 256
 * tile of c with 4 * 49152 + 64 + 1024 bytes of shared memory, so a variant may make the ring shallower.
 */
final class GemmSm90 implements KernelFile {
    private static final int TILE_M = 128;
    private static final int TILE_N = 256;
    private static final int TILE_K = 64;
    private static final int THREADS = 384;
    private static final int LAUNCHER_SHARED_BYTES = 4 * 49152 + 64 + 1024;

    @Override
    public String name() {
        return "gemm_bf16_sm90";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.integer("stages", 4, "stages of the shared-memory ring, 2 to 4 (48 KiB each)"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        long stages = p.integer("stages");
        long stageBytes = 2L * (TILE_M + TILE_N) * TILE_K;
        // The ring, one full and one empty mbarrier (8 bytes each) per stage, and slack to align the ring to 1024.
        long sharedBytes = stages * stageBytes + 16 * stages + 1024;
        p.require(stages >= 2 && sharedBytes <= LAUNCHER_SHARED_BYTES,
                "stages must be 2 to 4 (the launcher reserves " + LAUNCHER_SHARED_BYTES + " bytes of shared memory)");
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("LAYOUTS", List.of("ak_bk", "ak_bn", "am_bn"));
        v.put("TILE_M", (long) TILE_M);
        v.put("TILE_N", (long) TILE_N);
        v.put("TILE_K", (long) TILE_K);
        v.put("THREADS", (long) THREADS);
        v.put("CONSUMER_WARPS", 8L);
        v.put("STAGES", stages);
        v.put("A_BYTES", 2L * TILE_M * TILE_K);
        v.put("STAGE_BYTES", stageBytes);
        v.put("BOX_BYTES", 2L * 64 * 64);
        v.put("SMEM_BYTES", sharedBytes);
        // Each consumer thread holds its warpgroup's 64 x 256 accumulators: 64 * 256 / 128 floats.
        v.put("ACCUMULATORS", 64L * TILE_N / 128);
        return v;
    }
}

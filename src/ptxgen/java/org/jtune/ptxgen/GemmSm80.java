package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gemm_bf16.ptx}: the mma.sync GEMM for sm_80 and newer, one entry per operand layout. The launcher
 * ({@code GemmKernels}) starts 256 threads per 128 x 128 tile of c with 64 KiB of shared memory, so a variant may
 * rearrange the 8 warps and change the pipeline depth, but not the tile.
 */
final class GemmSm80 implements KernelFile {
    private static final int TILE_M = 128;
    private static final int TILE_N = 128;
    private static final int TILE_K = 32;
    private static final int WARPS = 8;
    private static final int LAUNCHER_SHARED_BYTES = 65536;

    @Override
    public String name() {
        return "gemm_bf16";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.integer("warps_m", 2, "warps along m; warps_m * warps_n = " + WARPS),
                Parameter.integer("warps_n", 4, "warps along n"),
                Parameter.integer("stages", 4, "cp.async pipeline stages, 2 to 4 (16 KiB each)"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        long warpsM = p.integer("warps_m");
        long warpsN = p.integer("warps_n");
        long stages = p.integer("stages");
        p.require(warpsM > 0 && warpsN > 0 && warpsM * warpsN == WARPS,
                "warps_m * warps_n must be " + WARPS + " (the launcher starts " + 32 * WARPS + " threads)");
        p.require(TILE_M % (16 * warpsM) == 0 && TILE_N % (16 * warpsN) == 0,
                "each warp needs whole m16 tiles and n16 blocks: " + TILE_M + " / warps_m and " + TILE_N
                        + " / warps_n must be multiples of 16");
        long stageBytes = 2L * (TILE_M + TILE_N) * TILE_K;
        p.require(stages >= 2 && stages * stageBytes <= LAUNCHER_SHARED_BYTES,
                "stages must be 2 to " + LAUNCHER_SHARED_BYTES / stageBytes + " (the launcher reserves "
                        + LAUNCHER_SHARED_BYTES + " bytes of shared memory)");
        long threads = 32L * WARPS;
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("LAYOUTS", List.of("ak_bk", "ak_bn", "am_bn"));
        v.put("TILE_M", (long) TILE_M);
        v.put("TILE_N", (long) TILE_N);
        v.put("TILE_K", (long) TILE_K);
        v.put("WARPS_M", warpsM);
        v.put("WARPS_N", warpsN);
        v.put("WARPS", (long) WARPS);
        v.put("THREADS", threads);
        v.put("WARP_M", TILE_M / warpsM);
        v.put("WARP_N", TILE_N / warpsN);
        v.put("MT", TILE_M / warpsM / 16);
        v.put("NT", TILE_N / warpsN / 8);
        v.put("STAGES", stages);
        v.put("A_BYTES", 2L * TILE_M * TILE_K);
        v.put("STAGE_BYTES", stageBytes);
        v.put("SMEM_BYTES", stages * stageBytes);
        // 16-byte chunks of each operand's tile per thread and stage (8 bf16 a chunk).
        v.put("CHUNKS_A", (long) TILE_M * TILE_K / 8 / threads);
        v.put("CHUNKS_B", (long) TILE_N * TILE_K / 8 / threads);
        return v;
    }
}

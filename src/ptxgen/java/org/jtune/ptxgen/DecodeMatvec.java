package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code decode_matvec.ptx}: the decode step's matrix-vector products of bf16 and NF4 weights with 1 to 16 rows of
 * x, and LoRA's down product. The launcher ({@code MatvecKernels}) fixes 256 threads and tiles of 16 output
 * features; a variant changes how much of a row each lane keeps in flight: {@code vectors} 16-byte loads per W row
 * in a bf16 warp step, {@code nf4_runs} 64-element runs per NF4 warp step.
 */
final class DecodeMatvec implements KernelFile {

    @Override
    public String name() {
        return "decode_matvec";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.integer("vectors", 4, "16-byte vectors per W row a lane loads in one bf16 warp step: 1, 2,"
                        + " 4 or 8 (16 registers each for W and x)"),
                Parameter.integer("nf4_runs", 2, "64-element runs of NF4 codes a warp takes per step, 1 to 4"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        long vectors = p.integer("vectors");
        long runs = p.integer("nf4_runs");
        p.require(vectors >= 1 && vectors <= 8 && Long.bitCount(vectors) == 1, "vectors must be 1, 2, 4 or 8");
        p.require(runs >= 1 && runs <= 4, "nf4_runs must be 1 to 4");
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("VECTORS", vectors);
        v.put("STEP_K", 32 * vectors);
        v.put("RUNS", runs);
        return v;
    }
}

package org.jtune.ptxgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed register-unrolled PTX files are exactly what the generator writes from their templates, and
 * variants with one parameter changed assemble for their targets.
 */
class GeneratedPtxTest {
    private static final String REGENERATE = "mvn -q test-compile && java -cp target/test-classes org.jtune.ptxgen.PtxGen";

    /** Variants with one parameter changed; each is generated and assembled (all but d256 run on today's launchers). */
    static final Map<String, Map<String, String>> VARIANTS = Map.ofEntries(
            Map.entry("gemm_bf16 4x2 warps", Map.of("warps_m", "4", "warps_n", "2")),
            Map.entry("gemm_bf16 8x1 warps", Map.of("warps_m", "8", "warps_n", "1")),
            Map.entry("gemm_bf16 3 stages", Map.of("stages", "3")),
            Map.entry("gemm_bf16 2 stages", Map.of("stages", "2")),
            Map.entry("gemm_bf16_sm90 3 stages", Map.of("stages", "3")),
            Map.entry("gemm_bf16_sm90 2 stages", Map.of("stages", "2")),
            Map.entry("flash_attn 32-row kv tiles", Map.of("kv_tile", "32")),
            Map.entry("flash_attn 16-row kv tiles", Map.of("kv_tile", "16")),
            Map.entry("flash_attn d256 only", Map.of("head_dims", "256")),
            Map.entry("flash_attn_bwd d64 only", Map.of("head_dims", "64")),
            Map.entry("decode_matvec 2 vectors", Map.of("vectors", "2")),
            Map.entry("decode_matvec 8 vectors", Map.of("vectors", "8")),
            Map.entry("decode_matvec 1 nf4 run", Map.of("nf4_runs", "1")),
            Map.entry("decode_matvec 4 nf4 runs", Map.of("nf4_runs", "4")),
            Map.entry("decode_attention 1 key", Map.of("keys", "1")),
            Map.entry("decode_attention 4 keys", Map.of("keys", "4")));

    @TestFactory
    Stream<DynamicTest> committedFilesAreTheGeneratorsOutput() {
        assumeTrue(Files.isDirectory(PtxGen.SHIPPED), "PTX sources not found at " + PtxGen.SHIPPED.toAbsolutePath()
                + " (run from the project folder)");
        return PtxGenerator.files().stream().map(file -> DynamicTest.dynamicTest(file.name(), () -> {
            Path committed = PtxGen.SHIPPED.resolve(file.name() + ".ptx");
            String expected = Files.readString(committed, StandardCharsets.UTF_8);
            String generated = PtxGenerator.generate(file, Map.of());
            if (!expected.equals(generated)) {
                fail(committed + " differs from the output of its template " + file.template() + " "
                        + firstDifference(expected, generated) + "\nEdit the template (src/ptxgen/templates), not the"
                        + " .ptx, and regenerate with: " + REGENERATE);
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> variantsAssemble(@TempDir Path folder) {
        Optional<Ptxas> ptxas = Ptxas.find();
        assumeTrue(ptxas.isPresent(), "ptxas not found on PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin");
        return VARIANTS.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(variant ->
                DynamicTest.dynamicTest(variant.getKey(), () -> {
                    KernelFile file = PtxGenerator.file(variant.getKey().split(" ")[0]);
                    String text = PtxGenerator.generate(file, variant.getValue());
                    assertNotEquals(PtxGenerator.generate(file, Map.of()), text, "the parameters changed nothing");
                    Path ptx = folder.resolve(variant.getKey().replace(' ', '_') + ".ptx");
                    Files.writeString(ptx, text, StandardCharsets.UTF_8);
                    ptxas.get().assemble(ptx, target(text));
                }));
    }

    @Test
    void parametersOutsideTheLaunchContractAreRefusedWithTheReason() {
        KernelFile gemm = PtxGenerator.file("gemm_bf16");
        IllegalArgumentException warps = assertThrows(IllegalArgumentException.class,
                () -> PtxGenerator.generate(gemm, Map.of("warps_m", "4")));
        assertTrue(warps.getMessage().contains("warps_m * warps_n must be 8"), warps.getMessage());
        IllegalArgumentException stages = assertThrows(IllegalArgumentException.class,
                () -> PtxGenerator.generate(gemm, Map.of("stages", "5")));
        assertTrue(stages.getMessage().contains("stages must be 2 to 4"), stages.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PtxGenerator.generate(gemm, Map.of("tile", "64")));
        assertTrue(unknown.getMessage().contains("gemm_bf16 has no parameter 'tile'"), unknown.getMessage());
        IllegalArgumentException shared = assertThrows(IllegalArgumentException.class,
                () -> PtxGenerator.generate(PtxGenerator.file("flash_attn_bwd"), Map.of("head_dims", "64,256")));
        assertTrue(shared.getMessage().contains("head dimension 256 needs 279552 bytes of shared memory"),
                shared.getMessage());
        IllegalArgumentException text = assertThrows(IllegalArgumentException.class,
                () -> PtxGenerator.generate(gemm, Map.of("stages", "three")));
        assertTrue(text.getMessage().contains("'three' is not an integer"), text.getMessage());
    }

    @Test
    void commandLineWritesAVariantIntoItsOwnFolderOnly(@TempDir Path folder) throws IOException {
        PtxGen.run(new String[] {"--out", folder.toString(), "gemm_bf16.stages=3"});
        try (Stream<Path> written = Files.list(folder)) {
            assertEquals(1, written.count());
        }
        assertEquals(PtxGenerator.generate(PtxGenerator.file("gemm_bf16"), Map.of("stages", "3")),
                Files.readString(folder.resolve("gemm_bf16.ptx")));
        IllegalArgumentException shipped = assertThrows(IllegalArgumentException.class,
                () -> PtxGen.run(new String[] {"gemm_bf16.stages=3"}));
        assertTrue(shipped.getMessage().contains("--out DIR"), shipped.getMessage());
    }

    private static String target(String ptx) {
        int at = ptx.indexOf(".target ");
        return ptx.substring(at + 8, ptx.indexOf('\n', at)).strip();
    }

    private static String firstDifference(String expected, String generated) {
        String[] a = expected.split("\n", -1);
        String[] b = generated.split("\n", -1);
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (!a[i].equals(b[i])) {
                return "from line " + (i + 1) + ":\n  committed: " + a[i] + "\n  generated: " + b[i];
            }
        }
        return "in length (" + a.length + " lines committed, " + b.length + " generated)";
    }
}

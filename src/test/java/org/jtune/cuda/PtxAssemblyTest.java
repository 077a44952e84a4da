package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.jtune.ptxgen.Ptxas;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every PTX file assembles with ptxas for the target it declares, and a file for a plain target (sm_80, which runs
 * on every newer GPU) for Hopper's sm_90a too, where the engines run it, with every function inside the calling
 * convention (skipped where ptxas is absent).
 */
class PtxAssemblyTest {
    private static final Path PTX_FOLDER = Path.of("src/main/ptx");
    private static final String HOPPER = "sm_90a";

    @TestFactory
    Stream<DynamicTest> everyPtxFileAssembles() throws IOException {
        assumeTrue(Files.isDirectory(PTX_FOLDER), "PTX sources not found at " + PTX_FOLDER.toAbsolutePath()
                + " (run from the project folder)");
        Optional<Ptxas> ptxas = Ptxas.find();
        assumeTrue(ptxas.isPresent(), "ptxas not found on PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin:"
                + " PTX assembly not checked");
        List<Path> files;
        try (Stream<Path> listing = Files.list(PTX_FOLDER)) {
            files = listing.filter(p -> p.toString().endsWith(".ptx")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no .ptx files in " + PTX_FOLDER);
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            String target = PtxSource.parse(file.toString(), Files.readString(file)).target();
            assertKeepsCallingConvention(file, ptxas.get().assemble(file, target));
            if (!target.endsWith("a")) {
                assertKeepsCallingConvention(file, ptxas.get().assemble(file, HOPPER));
            }
        }));
    }

    /**
     * A function outside the calling convention (several return values, a predicate parameter) makes the assembler
     * compile the whole file without it; the driver's own compiler has crashed the process on such a file, so none
     * ships.
     */
    private static void assertKeepsCallingConvention(Path file, String ptxasOutput) {
        assertFalse(ptxasOutput.contains("disabling ABI"), file + " has a function outside the calling convention: "
                + ptxasOutput.strip());
    }
}

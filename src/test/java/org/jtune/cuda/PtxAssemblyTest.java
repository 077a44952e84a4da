package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every PTX file assembles with ptxas for the target it declares (skipped where ptxas is absent). */
class PtxAssemblyTest {
    private static final Path PTX_FOLDER = Path.of("src/main/ptx");

    @TestFactory
    Stream<DynamicTest> everyPtxFileAssembles() throws IOException {
        assumeTrue(Files.isDirectory(PTX_FOLDER), "PTX sources not found at " + PTX_FOLDER.toAbsolutePath()
                + " (run from the project folder)");
        Optional<Path> ptxas = findPtxas();
        assumeTrue(ptxas.isPresent(), "ptxas not found on PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin:"
                + " PTX assembly not checked");
        List<Path> files;
        try (Stream<Path> listing = Files.list(PTX_FOLDER)) {
            files = listing.filter(p -> p.toString().endsWith(".ptx")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no .ptx files in " + PTX_FOLDER);
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(),
                () -> assemble(ptxas.get(), file)));
    }

    private static void assemble(Path ptxas, Path file) throws Exception {
        String text = Files.readString(file);
        String target = PtxSource.parse(file.toString(), text).target();
        List<String> command = new ArrayList<>(List.of(ptxas.toString(), "-arch=" + target, "-o", "/dev/null",
                file.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("ptxas did not finish within 60 s on " + file);
        }
        assertEquals(0, process.exitValue(), "ptxas -arch=" + target + " " + file + " failed:\n" + output);
    }

    private static Optional<Path> findPtxas() {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, "ptxas"));
            }
        }
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null) {
            candidates.add(Path.of(cudaHome, "bin", "ptxas"));
        }
        candidates.add(Path.of("/usr/local/cuda/bin/ptxas"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }
}

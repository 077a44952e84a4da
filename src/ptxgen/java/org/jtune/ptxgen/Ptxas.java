package org.jtune.ptxgen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The CUDA toolkit's PTX assembler, where one is installed: checks that generated PTX assembles. */
public final class Ptxas {
    private final Path executable;

    private Ptxas(Path executable) {
        this.executable = executable;
    }

    /** ptxas on PATH, in $CUDA_HOME/bin or in /usr/local/cuda/bin. */
    public static Optional<Ptxas> find() {
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
        return candidates.stream().filter(Files::isExecutable).findFirst().map(Ptxas::new);
    }

    /** Assembles {@code ptx} for {@code arch} (e.g. sm_80); returns ptxas's output, or throws with it on failure. */
    public String assemble(Path ptx, String arch) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(executable.toString(), "-arch=" + arch, "-o", "/dev/null", ptx.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("ptxas did not finish within 120 s on " + ptx);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("ptxas -arch=" + arch + " " + ptx + " failed:\n" + output);
        }
        return output;
    }
}

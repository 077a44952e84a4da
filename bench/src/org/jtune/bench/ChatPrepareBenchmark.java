package org.jtune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jtune.data.SftDataset;
import org.jtune.data.SftOptions;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Preparing SFT data (read, render, tokenize, mask) of 3,000 short examples, the same instruction
 * and answer texts once as Alpaca records and once as chat messages rendered by the Llama 3
 * tokenizer's shipped chat template. Chat data should prepare at no less than 80% of the Alpaca
 * speed: the template is compiled once and rendering is cheap next to tokenizing.
 *
 * Run: mvn -q test-compile, then
 * java -cp target/test-classes:target/classes:$(deps) org.openjdk.jmh.Main ChatPrepareBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class ChatPrepareBenchmark {
    static final int RECORDS = 3_000;
    private static final String[] WORDS = {"cat", "dog", "river", "stone", "light", "green", "quick", "small",
        "house", "tree", "water", "bright", "cold", "song", "bird", "road", "the", "of", "and", "is"};

    @Param({"alpaca", "messages"})
    public String format;

    private Tokenizer tokenizer;
    private Path file;

    @Setup
    public void setup() throws IOException {
        tokenizer = TestTokenizers.llama3();
        file = writeData(format);
    }

    /** The benchmark's data file in one format ("alpaca" or "messages"), the same texts each time. */
    static Path writeData(String format) throws IOException {
        ObjectMapper json = new ObjectMapper();
        SplittableRandom rnd = new SplittableRandom(7);
        List<String> lines = new ArrayList<>(RECORDS);
        for (int i = 0; i < RECORDS; i++) {
            String question = "Tell me about " + phrase(rnd, 4 + rnd.nextInt(8)) + ".";
            String answer = phrase(rnd, 10 + rnd.nextInt(30)) + ".";
            ObjectNode r = json.createObjectNode();
            if (format.equals("alpaca")) {
                r.put("instruction", question).put("input", "").put("output", answer);
            } else {
                var m = r.putArray("messages");
                m.addObject().put("role", "user").put("content", question);
                m.addObject().put("role", "assistant").put("content", answer);
            }
            lines.add(r.toString());
        }
        Path file = Files.createTempFile("chat-prepare-" + format, ".jsonl");
        Files.write(file, lines);
        return file;
    }

    private static String phrase(SplittableRandom rnd, int words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    @TearDown
    public void tearDown() throws IOException {
        Files.deleteIfExists(file);
    }

    /** One operation prepares the whole file. */
    @Benchmark
    public int prepare() {
        return prepare(file, tokenizer);
    }

    static int prepare(Path file, Tokenizer tokenizer) {
        SftDataset d = SftDataset.load(file, tokenizer, SftOptions.defaults());
        if (d.size() != RECORDS) {
            throw new IllegalStateException(d.report().toString());
        }
        return d.size();
    }
}

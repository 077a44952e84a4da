package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A tiny model folder, small data files of each format, and a way to run the command line in-process. */
final class CliFixture {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = {"cat", "dog", "river", "stone", "light", "green", "quick", "small",
            "house", "tree", "water", "bright", "cold", "song", "bird", "road"};

    /** What a run printed and returned. */
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- out ---\n" + out + "\n--- err ---\n" + err;
        }
    }

    private CliFixture() {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A training command on {@code model} with a few-step run's options, no checkpoints unless asked. */
    static Result train(String command, Path model, Path output, int maxLength, long seed, String... more) {
        List<String> args = new ArrayList<>(List.of(command, "--model", model.toString(), "--output",
                output.toString(), "--max-seq-length", String.valueOf(maxLength), "--lr", "1e-2", "--save-steps", "0",
                "--seed", String.valueOf(seed % 10000)));
        args.addAll(List.of(more));
        return run(args.toArray(String[]::new));
    }

    /**
     * Lines 3 (broken JSON) and 6 ({@code unusable}) of {@code lines} made bad: the run stops naming the file and line
     * 3, without a stack trace; with {@code --skip-bad-records} it trains on the rest and names both lines.
     *
     * @param command runs the command with output folder and further arguments
     * @param label   the record format as the load report names it
     */
    static void assertBadRecordsStopTheRunOrAreSkipped(BiFunction<Path, String[], Result> command, Path temp,
                                                       List<String> lines, String unusable, String label)
            throws IOException {
        List<String> bad = new ArrayList<>(lines);
        bad.set(2, "{\"prompt\": \"unterminated");
        bad.set(5, unusable);
        Path data = writeLines(temp.resolve("bad.jsonl"), bad);
        Result r = command.apply(temp.resolve("out-bad"), new String[] {"--data", data.toString(), "--max-steps", "1"});
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains(data + ", line 3"), r.toString());
        assertFalse(r.err().contains("\tat "), "no stack trace without JTUNE_STACKTRACE\n" + r);

        r = command.apply(temp.resolve("out-skip"), new String[] {"--data", data.toString(), "--max-steps", "1",
                "--skip-bad-records"});
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains(lines.size() + " records (" + label + "): " + (lines.size() - 2)
                + " used, 2 skipped as bad"), r.toString());
        assertTrue(r.out().contains("line 3") && r.out().contains("line 6"), r.toString());
    }

    /** A random 2-layer Llama with the demo tokenizer: small enough that a step takes milliseconds. */
    static Path tinyModel(Path folder) throws IOException {
        ObjectNode c = DemoModel.configJson();
        c.put("hidden_size", 32);
        c.put("intermediate_size", 48);
        c.put("num_hidden_layers", 2);
        c.put("max_position_embeddings", 128);
        DemoModel.write(folder, c);
        return folder;
    }

    private static String phrase(Random rnd, int words) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < words; i++) {
            s.append(i == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return s.toString();
    }

    /**
     * {@code count} records of a format ("text", "prompt-completion", "messages", "alpaca", or "preference":
     * prompt/chosen/rejected) as JSON lines.
     */
    static List<String> records(String format, int count, long seed) {
        Random rnd = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ObjectNode r = JSON.createObjectNode();
            switch (format) {
                case "text" -> r.put("text", phrase(rnd, 4 + rnd.nextInt(8)));
                case "prompt-completion" -> r.put("prompt", "Say " + phrase(rnd, 2) + ":")
                        .put("completion", " " + phrase(rnd, 3 + rnd.nextInt(5)));
                case "messages" -> {
                    var m = r.putArray("messages");
                    m.addObject().put("role", "user").put("content", "Tell me about " + phrase(rnd, 2) + ".");
                    m.addObject().put("role", "assistant").put("content", phrase(rnd, 3 + rnd.nextInt(6)));
                }
                case "alpaca" -> r.put("instruction", "Describe " + phrase(rnd, 2)).put("input", "")
                        .put("output", phrase(rnd, 3 + rnd.nextInt(6)));
                case "preference" -> r.put("prompt", "Name " + phrase(rnd, 2) + ":")
                        .put("chosen", " " + phrase(rnd, 2 + rnd.nextInt(4)))
                        .put("rejected", " " + phrase(rnd, 2 + rnd.nextInt(4)));
                default -> throw new IllegalArgumentException(format);
            }
            lines.add(r.toString());
        }
        return lines;
    }

    static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }

    static Path writeLines(Path file, List<String> lines) throws IOException {
        byte[] bytes = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
        String name = file.getFileName().toString();
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream out = name.endsWith(".gz") ? new GzipCompressorOutputStream(raw)
                     : name.endsWith(".xz") ? new XZCompressorOutputStream(raw) : raw) {
            out.write(bytes);
        }
        return file;
    }

    /** The training losses of metrics.jsonl, by step. */
    static List<Double> losses(Path output) throws IOException {
        return trainMetric(output, "loss");
    }

    /** One metric of the training lines of metrics.jsonl, by logged step; NaN where a line lacks it. */
    static List<Double> trainMetric(Path output, String name) throws IOException {
        List<Double> values = new ArrayList<>();
        for (String line : Files.readAllLines(output.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals("train")) {
                values.add(n.has(name) ? n.get(name).asDouble() : Double.NaN);
            }
        }
        return values;
    }
}

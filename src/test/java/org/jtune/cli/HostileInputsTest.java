package org.jtune.cli;

import static org.jtune.cli.CliFixture.records;
import static org.jtune.cli.CliFixture.writeLines;
import static org.jtune.cli.CliFixture.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The findings of a hostile-but-fair user's run through the real command line, each replayed: the
 * run must end with a clear message and a non-zero exit, and write nothing it should not.
 */
class HostileInputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path temp;

    private Path modelWithTemplate(String name, String template) throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve(name));
        Path config = model.resolve("tokenizer_config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        c.put("chat_template", template);
        JSON.writeValue(config.toFile(), c);
        return model;
    }

    @Test
    void hostileChatTemplatesEndInAClearErrorNamingTheTemplate() throws IOException {
        Path data = writeLines(temp.resolve("chat.jsonl"), records("messages", 4, 1));
        List<String> templates = List.of(
                "{% set ns = namespace(s='aaaaaaaaaa') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                        + "{% endfor %}{{ ns.s|length }}",
                "{{ 'a'.repeat(1000000000) }}",
                "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% for d in range(1000) %}"
                        + "{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
                "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                        + "{% endfor %}{% endfor %}{% endfor %}",
                "{% include 'org/jtune/cli/Main.class' %}");
        for (int i = 0; i < templates.size(); i++) {
            Path model = modelWithTemplate("m" + i, templates.get(i));
            long start = System.nanoTime();
            CliFixture.Result r = CliFixture.train("sft", model, temp.resolve("out" + i), 64, 1, "--data",
                    data.toString(), "--max-steps", "1");
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            assertEquals(1, r.exitCode(), templates.get(i) + "\n" + r);
            assertTrue(r.err().contains(model.resolve("tokenizer.json").toString()), "names the template's folder\n" + r);
            assertTrue(r.err().contains("chat template") , r.toString());
            assertTrue(seconds < 30, "ends in seconds, took " + seconds);
            assertFalse(Files.exists(temp.resolve("out" + i).resolve("adapter")), "no adapter written\n" + r);
        }
    }

    @Test
    void jvmErrorsEndWithAMessageAndANonZeroExit() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run("sft", new Main.Command() {
                @Override
                public String summary() {
                    return "throws";
                }

                @Override
                public int run(String[] args, PrintStream out) {
                    throw new OutOfMemoryError("Java heap space");
                }
            }, new String[0], System.out, e);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(3, code);
        assertTrue(text.contains("jtune sft: out of Java heap memory (Java heap space)"), text);
        assertTrue(text.contains("-Xmx"), text);
    }

    /** A trained adapter of the tiny model: OUTPUT/adapter of a one-step sft run. */
    private Path trainedAdapter(Path model, String name) throws IOException {
        Path data = writeLines(temp.resolve(name + ".jsonl"), records("text", 4, 3));
        CliFixture.Result r = CliFixture.train("sft", model, temp.resolve(name), 64, 3, "--data", data.toString(),
                "--max-steps", "1");
        assertEquals(0, r.exitCode(), r.toString());
        return temp.resolve(name).resolve("adapter");
    }

    /** Fills the data area of a safetensors file with one byte: 0xFF makes every float NaN whatever its dtype. */
    private static void fillTensorData(Path file, byte value) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        java.util.Arrays.fill(bytes, (int) (8 + headerLength), bytes.length, value);
        Files.write(file, bytes);
    }

    private static String digest(Path folder) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.walk(folder)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                sb.append(f).append(java.util.Arrays.hashCode(Files.readAllBytes(f))).append('\n');
            }
        }
        return sb.toString();
    }

    @Test
    void mergeRefusesNonFiniteWeightsAndWritesNothing() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("base"));
        Path adapter = trainedAdapter(model, "run");
        fillTensorData(adapter.resolve("adapter_model.safetensors"), (byte) 0xFF);
        Path out = temp.resolve("merged");
        CliFixture.Result r = run("merge", "--adapter", adapter.toString(), "--output", out.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("non-finite value"), r.toString());
        assertFalse(Files.exists(out.resolve("model.safetensors")), "no merged weights written");
        assertFalse(Files.exists(out), "no output folder left behind");
    }

    @Test
    void mergeRefusesAnAbsurdLoraAlpha() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("base"));
        Path adapter = trainedAdapter(model, "run");
        Path config = adapter.resolve("adapter_config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        c.put("lora_alpha", 1e308);
        JSON.writeValue(config.toFile(), c);
        CliFixture.Result r = run("merge", "--adapter", adapter.toString(), "--output", temp.resolve("m").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("lora_alpha must be a finite number of magnitude at most"), r.toString());
    }

    @Test
    void mergeRefusesToWriteIntoItsBaseModel() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("base"));
        Path adapter = trainedAdapter(model, "run");
        String before = digest(model);
        for (Path out : List.of(model, model.resolve("merged"), model.resolve("sub/../."))) {
            CliFixture.Result r = run("merge", "--adapter", adapter.toString(), "--output", out.toString());
            assertEquals(2, r.exitCode(), r.toString());
            assertTrue(r.err().contains("the base model folder"), r.toString());
        }
        assertEquals(before, digest(model), "the base model is untouched");
    }

    @Test
    void outputThatIsAFileIsRefusedByName() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("base"));
        Path file = Files.writeString(temp.resolve("a-file"), "x");
        Path data = writeLines(temp.resolve("d.jsonl"), records("text", 4, 3));
        for (Path out : List.of(file, Path.of("/dev/null"), file.resolve("sub"))) {
            CliFixture.Result r = CliFixture.train("sft", model, out, 64, 3, "--data", data.toString(), "--max-steps",
                    "1");
            assertEquals(2, r.exitCode(), r.toString());
            assertTrue(r.err().contains("--output " + out) && r.err().contains("not a folder"), r.toString());
        }
    }

    @Test
    void aFinishedAdapterIsNotOverwrittenUnlessAsked() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("base"));
        Path adapter = trainedAdapter(model, "run");
        byte[] before = Files.readAllBytes(adapter.resolve("adapter_model.safetensors"));
        Path data = writeLines(temp.resolve("other.jsonl"), records("text", 4, 9));
        CliFixture.Result r = CliFixture.train("sft", model, temp.resolve("run"), 64, 5, "--data", data.toString(),
                "--max-steps", "1");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--overwrite-output-dir"), r.toString());
        assertArrayEquals(before, Files.readAllBytes(adapter.resolve("adapter_model.safetensors")));
        r = CliFixture.train("sft", model, temp.resolve("run"), 64, 5, "--data", data.toString(), "--max-steps", "1",
                "--overwrite-output-dir");
        assertEquals(0, r.exitCode(), r.toString());
    }

    private Path editedModel(String name, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve(name));
        Path config = model.resolve("config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        edit.accept(c);
        JSON.writeValue(config.toFile(), c);
        return model;
    }

    private CliFixture.Result sftOn(Path model) throws IOException {
        Path data = writeLines(temp.resolve("d-" + model.getFileName() + ".jsonl"), records("text", 4, 3));
        return CliFixture.train("sft", model, temp.resolve("out-" + model.getFileName()), 64, 3, "--data",
                data.toString(), "--max-steps", "1");
    }

    @Test
    void aConfigThatDoesNotDescribeTheCheckpointIsRefused() throws IOException {
        CliFixture.Result r = sftOn(editedModel("fewer-layers", c -> c.put("num_hidden_layers", 1)));
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("has layers up to 1 but num_hidden_layers is 1"), r.toString());

        Path withBias = CliFixture.tinyModel(temp.resolve("bias"));
        Path weights = withBias.resolve("model.safetensors");
        java.util.Map<String, float[]> extra = java.util.Map.of("model.layers.0.self_attn.q_proj.bias", new float[32]);
        addF32(weights, extra);
        r = sftOn(withBias);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("model.layers.0.self_attn.q_proj.bias") && r.err().contains("does not use"),
                r.toString());
    }

    @Test
    void absurdOrNonFiniteConfigValuesAreRefused() throws IOException {
        for (String value : List.of("1e300", "1e999", "-1e-6", "2")) {
            Path model = editedModel("eps" + value.replace('-', 'm'), c -> { });
            Path config = model.resolve("config.json");
            String text = Files.readString(config).replaceFirst("\"rms_norm_eps\"\\s*:\\s*[^,}]+",
                    "\"rms_norm_eps\": " + value);
            Files.writeString(config, text);
            CliFixture.Result r = sftOn(model);
            assertEquals(1, r.exitCode(), value + "\n" + r);
            assertTrue(r.err().contains("rms_norm_eps must be"), value + "\n" + r);
        }
    }

    @Test
    void trailingGarbageInJsonIsRefused() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("trailing"));
        Files.writeString(model.resolve("config.json"), Files.readString(model.resolve("config.json")) + "} garbage");
        CliFixture.Result r = sftOn(model);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("config.json: not valid JSON"), r.toString());

        Path good = CliFixture.tinyModel(temp.resolve("good"));
        Path data = writeLines(temp.resolve("two.jsonl"), List.of("{\"text\": \"a b c\"}",
                "{\"text\": \"one\"} {\"text\": \"two\"}", "{\"text\": \"d e f\"}"));
        r = CliFixture.train("sft", good, temp.resolve("out-two"), 64, 3, "--data", data.toString(), "--max-steps",
                "1");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains(data + ", line 2") && r.err().contains("a second value on the line"),
                r.toString());
    }

    @Test
    void tokenizerIdsMustBeUniqueWholeNumbersInRange() throws IOException {
        for (String bad : List.of("\"x\"", "3.7", "-5", "DUP", "99999999999")) {
            Path model = CliFixture.tinyModel(temp.resolve("tok" + Math.abs(bad.hashCode())));
            Path tok = model.resolve("tokenizer.json");
            ObjectNode t = (ObjectNode) JSON.readTree(tok.toFile());
            ObjectNode vocab = (ObjectNode) t.path("model").path("vocab");
            String first = vocab.fieldNames().next();
            if (bad.equals("DUP")) {
                var it = vocab.fieldNames();
                it.next();
                vocab.put(it.next(), vocab.get(first).asInt());
            } else {
                vocab.set(first, JSON.readTree(bad));
            }
            JSON.writeValue(tok.toFile(), t);
            CliFixture.Result r = sftOn(model);
            assertEquals(1, r.exitCode(), bad + "\n" + r);
            assertTrue(r.err().contains(bad.equals("DUP") ? "have the same id" : "must be a whole number in [0, "),
                    bad + "\n" + r);
        }
    }

    private CliFixture.Result sftWithData(Path model, Path data, String... more) {
        return CliFixture.train("sft", model, temp.resolve("out-" + data.getFileName()), 64, 3,
                CliFixture.concat(new String[] {"--data", data.toString(), "--max-steps", "1"}, more));
    }

    private static Path fifo(Path at) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("mkfifo", at.toString()).start();
        assertEquals(0, p.waitFor(), "mkfifo works here");
        return at;
    }

    @Test
    void devicesAndFifosAreRefusedNotReadForever() throws Exception {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        for (Path data : List.of(Path.of("/dev/zero"), fifo(temp.resolve("data.fifo")))) {
            CliFixture.Result r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(60), () -> sftWithData(model, data));
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.err().contains(data.toString()) && r.err().contains("not a regular file"), r.toString());
        }
        Path fifoModel = CliFixture.tinyModel(temp.resolve("fifo-model"));
        Files.delete(fifoModel.resolve("model.safetensors"));
        fifo(fifoModel.resolve("model.safetensors"));
        CliFixture.Result r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(60), () -> sftOn(fifoModel));
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("not a regular file"), r.toString());
    }

    @Test
    void overLongLinesAndOversizedFilesStopAtTheirCaps() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        String longLine = "{\"text\": \"" + "word ".repeat(2000) + "\"}";
        Path gz = writeLines(temp.resolve("long.jsonl.gz"), List.of("{\"text\": \"a b\"}", longLine));
        CliFixture.Result r = sftWithData(model, gz, "--max-line-bytes", "1000");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains(gz + ", line 2") && r.err().contains("longer than 1000 bytes")
                && r.err().contains("--max-line-bytes"), r.toString());
        r = sftWithData(model, gz, "--max-line-bytes", "1000", "--skip-bad-records");
        assertEquals(0, r.exitCode(), "the long line is skipped, the rest trains\n" + r);

        r = sftWithData(model, gz, "--max-data-bytes", "5000", "--overwrite-output-dir");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("more than 5000 bytes") && r.err().contains("--max-data-bytes"), r.toString());
    }

    @Test
    void aLoneSurrogateIsABadRecordWithItsLine() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        Path data = writeLines(temp.resolve("sur.jsonl"), List.of("{\"text\": \"fine\"}", "{\"text\": \"a\\ud800b\"}"));
        CliFixture.Result r = sftWithData(model, data);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains(data + ", line 2") && r.err().contains("lone surrogate U+D800"), r.toString());
    }

    @Test
    void truncatedArchivesAndForeignEncodingsSayWhatIsWrong() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        for (String name : List.of("cut.jsonl.gz", "cut.jsonl.xz")) {
            Path full = writeLines(temp.resolve("full-" + name), records("text", 200, 4));
            byte[] bytes = Files.readAllBytes(full);
            Path cut = Files.write(temp.resolve(name), java.util.Arrays.copyOf(bytes, bytes.length / 2));
            CliFixture.Result r = sftWithData(model, cut);
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.err().contains(cut.toString()) && !r.err().contains(": null"), r.toString());
            assertTrue(r.err().contains("ends early") || r.err().contains("truncated") || r.err().contains("corrupt"),
                    r.toString());
        }
        Path utf16 = CliFixture.tinyModel(temp.resolve("utf16"));
        Path config = utf16.resolve("config.json");
        Files.write(config, Files.readString(config).getBytes(StandardCharsets.UTF_16));
        CliFixture.Result r = sftOn(utf16);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("config.json") && r.err().contains("not valid UTF-8"), r.toString());
    }

    /** A run of two steps with a checkpoint at each, in OUTPUT "resume"; returns its command line's tail. */
    private String[] checkpointedRun(Path model) throws IOException {
        Path data = writeLines(temp.resolve("resume.jsonl"), records("text", 8, 5));
        String[] args = {"--data", data.toString(), "--save-steps", "1", "--batch-size", "2", "--grad-accum", "1"};
        CliFixture.Result r = CliFixture.train("sft", model, temp.resolve("resume"), 64, 5,
                CliFixture.concat(args, "--max-steps", "2"));
        assertEquals(0, r.exitCode(), r.toString());
        return args;
    }

    private CliFixture.Result resume(Path model, String[] args, int steps) {
        // --save-steps given after the fixture's 0 wins: the checkpoint settings stay those of the run
        return CliFixture.train("sft", model, temp.resolve("resume"), 64, 5,
                CliFixture.concat(args, "--max-steps", String.valueOf(steps), "--resume"));
    }

    @Test
    void resumeCrossChecksStepNumbers() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        String[] args = checkpointedRun(model);
        Path out = temp.resolve("resume");
        Path state = out.resolve("checkpoint-2/trainer_state.json");
        String good = Files.readString(state);
        for (String bad : List.of("\"abc\"", "-5", "1", "2.5")) {
            Files.writeString(state, good.replaceFirst("\"global_step\"\\s*:\\s*\\d+", "\"global_step\" : " + bad));
            CliFixture.Result r = resume(model, args, 3);
            assertEquals(1, r.exitCode(), bad + "\n" + r);
            assertTrue(r.err().contains("global_step"), bad + "\n" + r);
        }
        Files.writeString(state, good);
        Path huge = out.resolve("checkpoint-99999999999999999999");
        Files.createDirectories(huge);
        Files.writeString(huge.resolve("trainer_state.json"), good);
        CliFixture.Result r = resume(model, args, 3);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("checkpoint-99999999999999999999") && r.err().contains("too large"), r.toString());
    }

    @Test
    void resumeRepairsATornMetricsLineAndCleansTemporaryFiles() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        String[] args = checkpointedRun(model);
        Path out = temp.resolve("resume");
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\": 3, \"loss\": 1.2", java.nio.file.StandardOpenOption.APPEND);
        Path leftover = Files.writeString(out.resolve(".loss_curve.png.8812345.tmp"), "half a png");
        Path leftoverCheckpoint = Files.createDirectories(out.resolve(".checkpoint-3.tmp"));
        CliFixture.Result r = resume(model, args, 3);
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(3, lines.size(), lines.toString());
        for (String line : lines) {
            assertTrue(JSON.readTree(line).path("step").isIntegralNumber(), line);
        }
        assertFalse(Files.exists(leftover), "temporary file removed");
        assertFalse(Files.exists(leftoverCheckpoint), "temporary checkpoint folder removed");
    }

    /** Negates every element of one tensor in place (flips its sign bits): the same shapes, other weights. */
    private static void negateTensor(Path file, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (int) java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        if (!header.has(name)) {
            throw new IllegalStateException("no tensor " + name + " in " + file);
        }
        int width = switch (header.get(name).get("dtype").asText()) {
            case "F32" -> 4;
            case "BF16", "F16" -> 2;
            default -> throw new IllegalStateException(header.get(name).toString());
        };
        long start = 8 + headerLength + header.get(name).get("data_offsets").get(0).asLong();
        long end = 8 + headerLength + header.get(name).get("data_offsets").get(1).asLong();
        for (long at = start + width - 1; at < end; at += width) {
            bytes[(int) at] ^= (byte) 0x80;
        }
        Files.write(file, bytes);
    }

    @Test
    void resumeOnAnotherBaseModelOfTheSameShapesIsRefused() throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve("m"));
        String[] args = checkpointedRun(model);
        Path other = CliFixture.tinyModel(temp.resolve("other"));
        negateTensor(other.resolve("model.safetensors"), "model.embed_tokens.weight");
        CliFixture.Result r = resume(other, args, 3);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("another base model") && r.err().contains("model.embed_tokens.weight"),
                r.toString());
        r = resume(model, args, 3);
        assertEquals(0, r.exitCode(), "the run's own base resumes\n" + r);
    }

    /** Appends F32 tensors to a safetensors file: their bytes after the data, their entries in the header. */
    private static void addF32(Path file, java.util.Map<String, float[]> tensors) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) b.getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        data.write(bytes, 8 + headerLength, bytes.length - 8 - headerLength);
        for (var e : tensors.entrySet()) {
            long start = data.size();
            java.nio.ByteBuffer values = java.nio.ByteBuffer.allocate(4 * e.getValue().length)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float v : e.getValue()) {
                values.putFloat(v);
            }
            data.write(values.array());
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", "F32");
            entry.putArray("shape").add(e.getValue().length);
            entry.putArray("data_offsets").add(start).add(data.size());
        }
        byte[] h = JSON.writeValueAsBytes(header);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(data.toByteArray());
        Files.write(file, out.toByteArray());
    }
}

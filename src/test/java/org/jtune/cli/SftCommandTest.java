package org.jtune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.api.FastLanguageModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.model.Batch;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.jtune.cli.CliFixture.losses;
import static org.jtune.cli.CliFixture.concat;
import static org.jtune.cli.CliFixture.records;
import static org.jtune.cli.CliFixture.run;
import static org.jtune.cli.CliFixture.writeLines;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sft} and {@code merge} end to end on the CPU, on a tiny model and a few steps. */
class SftCommandTest {
    @TempDir
    Path temp;
    private Path model;
    private final long seed = System.nanoTime();

    @BeforeEach
    void setUp() throws IOException {
        model = CliFixture.tinyModel(temp.resolve("model"));
    }

    /** sft on the tiny model with few steps, no checkpoints unless asked. */
    private CliFixture.Result sft(Path output, String... more) {
        return CliFixture.train("sft", model, output, 128, seed, more);
    }

    private static void assertFiniteLosses(Path output, int steps, CliFixture.Result r) throws IOException {
        List<Double> losses = losses(output);
        assertEquals(steps, losses.size(), r.toString());
        for (double l : losses) {
            assertTrue(Double.isFinite(l) && l > 0, "loss " + l + "\n" + r);
        }
    }

    @Test
    void trainsOnEveryFormatAndWritesTheOutputs() throws IOException {
        for (String format : List.of("text", "prompt-completion", "messages", "alpaca")) {
            Path data = writeLines(temp.resolve(format + ".jsonl"), records(format, 12, seed));
            Path out = temp.resolve("out-" + format);
            CliFixture.Result r = sft(out, "--data", data.toString(), "--max-steps", "2", "--batch-size", "2",
                    "--grad-accum", "1");
            assertEquals(0, r.exitCode(), format + ": " + r);
            String detected = format.equals("prompt-completion") ? "prompt/completion" : format;
            assertTrue(r.out().contains("12 records (" + detected + "), all used"), format + ": " + r);
            assertFiniteLosses(out, 2, r);
            for (String file : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                    "adapter/tokenizer.json", "metrics.jsonl", "loss_curve.png")) {
                assertTrue(Files.isRegularFile(out.resolve(file)), format + ": no " + file + "\n" + r);
            }
        }
        // the format can be forced, and a chat template named
        Path data = writeLines(temp.resolve("chat.jsonl"), records("messages", 6, seed));
        CliFixture.Result r = sft(temp.resolve("out-forced"), "--data", data.toString(), "--format", "messages",
                "--chat-template", "chatml", "--max-steps", "1", "--train-on-all-tokens");
        assertEquals(0, r.exitCode(), r.toString());
    }

    @Test
    void compressedFilesGiveTheSameRunAsPlainOnes() throws IOException {
        List<String> lines = records("prompt-completion", 10, seed);
        List<List<Double>> runs = new ArrayList<>();
        for (String name : List.of("d.jsonl", "d.jsonl.gz", "d.jsonl.xz")) {
            Path out = temp.resolve("out-" + name);
            CliFixture.Result r = sft(out, "--data", writeLines(temp.resolve(name), lines).toString(),
                    "--max-steps", "3", "--batch-size", "2", "--grad-accum", "1");
            assertEquals(0, r.exitCode(), name + ": " + r);
            runs.add(losses(out));
        }
        assertEquals(runs.get(0), runs.get(1), "gz, seed " + seed);
        assertEquals(runs.get(0), runs.get(2), "xz, seed " + seed);
        // two files are one dataset
        Path half1 = writeLines(temp.resolve("a.jsonl"), lines.subList(0, 5));
        Path half2 = writeLines(temp.resolve("b.jsonl.gz"), lines.subList(5, 10));
        Path out = temp.resolve("out-two");
        CliFixture.Result r = sft(out, "--data", half1.toString(), "--data", half2.toString(), "--max-steps", "3",
                "--batch-size", "2", "--grad-accum", "1");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(runs.get(0), losses(out), "two files, seed " + seed);
    }

    @Test
    void packingOnAndOff() throws IOException {
        Path data = writeLines(temp.resolve("d.jsonl"), records("text", 16, seed));
        CliFixture.Result packed = sft(temp.resolve("packed"), "--data", data.toString(), "--epochs", "1",
                "--batch-size", "1", "--grad-accum", "1");
        CliFixture.Result padded = sft(temp.resolve("padded"), "--data", data.toString(), "--epochs", "1",
                "--batch-size", "2", "--grad-accum", "1", "--no-packing");
        assertEquals(0, packed.exitCode(), packed.toString());
        assertEquals(0, padded.exitCode(), padded.toString());
        assertTrue(packed.out().contains("(packed)"), packed.toString());
        assertTrue(padded.out().contains("(padded)"), padded.toString());
        // 16 examples two by two: 8 steps in the epoch; packed, 64-token rows hold several examples each
        assertFiniteLosses(temp.resolve("padded"), 8, padded);
        int packedSteps = losses(temp.resolve("packed")).size();
        assertTrue(packedSteps >= 1 && packedSteps < 16, packedSteps + " packed rows\n" + packed);
    }

    @Test
    void badRecordsStopTheRunWithTheirPlaceOrAreSkipped() throws IOException {
        CliFixture.assertBadRecordsStopTheRunOrAreSkipped(this::sft, temp, records("prompt-completion", 8, seed),
                "{\"prompt\": \"no completion\"}", "prompt/completion");
    }

    /** A run stopped after a checkpoint and resumed makes exactly the steps of the uninterrupted run. */
    @Test
    void resumedRunMatchesTheUninterruptedOneBitForBit() throws IOException {
        // 7 examples, 2 held out: 3 micro-batches of 2 an epoch, so 2 steps: the 6 steps cross two epoch ends
        Path data = writeLines(temp.resolve("d.jsonl"), records("messages", 7, seed));
        Path whole = temp.resolve("whole"), cut = temp.resolve("cut");
        String[] args = {"--data", data.toString(), "--max-steps", "6", "--batch-size", "2", "--grad-accum", "2",
                "--no-packing", "--eval-split", "0.3", "--eval-steps", "2"};
        CliFixture.Result r = sft(whole, concat(args, "--save-steps", "6"));
        assertEquals(0, r.exitCode(), r.toString());
        r = sft(cut, concat(args, "--save-steps", "3"));
        assertEquals(0, r.exitCode(), r.toString());
        ModelFiles.deleteTree(cut.resolve("checkpoint-6"));
        r = sft(cut, concat(args, "--save-steps", "3", "--resume"));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(losses(whole), losses(cut), "seed " + seed);
        assertEquals(6, losses(cut).size());
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(cut.resolve("adapter/adapter_model.safetensors")), "seed " + seed);
        assertTrue(r.out().contains("eval loss"), r.toString());

        // a fresh run into a folder with checkpoints is refused
        r = sft(cut, args);
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--resume"), r.toString());
    }

    /** The adapter loads back; the merged folder loads as a model that computes what base + adapter compute. */
    @Test
    void exportsAnAdapterAndAMergedModelThatLoadBack() throws IOException {
        Path data = writeLines(temp.resolve("d.jsonl"), records("text", 10, seed));
        Path out = temp.resolve("out");
        CliFixture.Result r = sft(out, "--data", data.toString(), "--max-steps", "3", "--lr", "5e-2",
                "--warmup-steps", "0",
                "--lora-r", "4", "--target-modules", "q_proj,v_proj,down_proj", "--save-steps", "3");
        assertEquals(0, r.exitCode(), r.toString());
        Path merged = temp.resolve("merged");
        r = run("merge", "--adapter", out.resolve("adapter").toString(), "--output", merged.toString(),
                "--dtype", "f32");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(Files.isRegularFile(merged.resolve("tokenizer.json")), r.toString());
        assertEquals(4, PeftAdapterFiles.read(out.resolve("adapter")).config().r());

        Random rnd = new Random(seed);
        int[][] tokens = new int[1][20];
        for (int t = 0; t < 20; t++) {
            tokens[0][t] = rnd.nextInt(500);
        }
        Batch batch = Batch.of(tokens, tokens);
        try (Pretrained base = FastLanguageModel.fromPretrained(model, 128, false);
             Pretrained mergedModel = FastLanguageModel.fromPretrained(merged, 128, false);
             PeftModel adapted = PeftModel.fromAdapter(base.model(), out.resolve("adapter"));
             PeftModel checkpoint = PeftModel.fromAdapter(base.model(), out.resolve("checkpoint-3"));
             Arena arena = Arena.ofConfined()) {
            for (String name : adapted.adapters().names()) {
                assertArrayEquals(checkpoint.adapters().tensor(name).toFloatArray(),
                        adapted.adapters().tensor(name).toFloatArray(), name);
            }
            int vocab = base.model().config().vocabSize();
            Tensor want = Tensor.f32(arena, 20, vocab), got = Tensor.f32(arena, 20, vocab),
                    plain = Tensor.f32(arena, 20, vocab);
            try (CpuCausalLm m = new CpuCausalLm(base.model().config(), base.model().frozen(), adapted.adapters(),
                    new CpuOps(), 1, 64, false)) {
                m.forward(batch, want);
            }
            try (CpuCausalLm m = new CpuCausalLm(base.model().config(), base.model().frozen(), null,
                    new CpuOps(), 1, 64, false)) {
                m.forward(batch, plain);
            }
            try (CpuCausalLm m = new CpuCausalLm(mergedModel.model().config(), mergedModel.model().frozen(), null,
                    new CpuOps(), 1, 64, false)) {
                m.forward(batch, got);
            }
            double maxDiff = 0, maxAdapterEffect = 0;
            for (long i = 0; i < want.size(); i++) {
                assertTrue(Float.isFinite(got.get(i)), "logit " + i);
                maxDiff = Math.max(maxDiff, Math.abs(want.get(i) - got.get(i)));
                maxAdapterEffect = Math.max(maxAdapterEffect, Math.abs(want.get(i) - plain.get(i)));
            }
            assertTrue(maxDiff < 1e-4, "merged vs base + adapter: " + maxDiff + ", seed " + seed);
            assertTrue(maxAdapterEffect > 1e-2, "the adapter changed the model by " + maxAdapterEffect);
        }
    }

    @Test
    void configFileSetsOptionsAndFlagsWin() throws IOException {
        Path data = writeLines(temp.resolve("d.jsonl"), records("alpaca", 6, seed));
        Path config = temp.resolve("run.json");
        Files.writeString(config, new ObjectMapper().createObjectNode().put("lora_r", 4).put("lora-alpha", 8)
                .put("max-steps", 1).put("rslora", true).put("target-modules", "q_proj")
                .set("data", new ObjectMapper().createArrayNode().add(data.toString())).toString());
        Path out = temp.resolve("out");
        CliFixture.Result r = sft(out, "--config", config.toString(), "--lora-r", "2");
        assertEquals(0, r.exitCode(), r.toString());
        var adapter = PeftAdapterFiles.read(out.resolve("adapter")).config();
        assertEquals(2, adapter.r(), "the command line wins");
        assertEquals(8.0, adapter.loraAlpha());
        assertTrue(adapter.useRslora());

        Files.writeString(config, "{\"lora_rank\": 4}");
        r = sft(temp.resolve("out2"), "--config", config.toString(), "--data", data.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("\"lora_rank\" is not an option of sft"), r.toString());
    }

    @Test
    void demoTrainsAndShowsSamples() {
        CliFixture.Result r = run("sft", "--output", temp.resolve("demo").toString(), "--max-steps", "2",
                "--max-seq-length", "128");
        assertEquals(0, r.exitCode(), r.toString());
        for (String expected : List.of("RANDOM", "3000 records (messages), all used", "sample before training",
                "sample after training", "training loss:", "training on the ")) {
            assertTrue(r.out().contains(expected), expected + "\n" + r);
        }
        assertTrue(Files.isRegularFile(temp.resolve("demo/demo-model/model.safetensors")));
        // the demo's adapter names its base folder, so merge needs no --model
        r = run("merge", "--adapter", temp.resolve("demo/adapter").toString(), "--output",
                temp.resolve("demo/merged").toString());
        assertEquals(0, r.exitCode(), r.toString());
    }
}

package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.data.parquet.ParquetFixtures;
import org.jtune.train.report.TensorBoardEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.jtune.cli.CliFixture.records;
import static org.jtune.cli.CliFixture.run;
import static org.jtune.cli.CliFixture.writeLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A new user's first session, replayed through {@link Main} (the build is the suite's): the demo; their own data in
 * every format the README lists; a model and a dataset by Hub id from a Hugging Face cache Python filled; TRL's
 * option names as a TRL script passes them; a YAML config; TensorBoard; the printed merge command. Nothing may fail.
 */
class FirstSessionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path home;
    private final long seed = System.nanoTime();

    @AfterEach
    void clearHubProperties() {
        System.clearProperty("HF_HUB_CACHE");
        System.clearProperty("HF_HUB_OFFLINE");
    }

    private static CliFixture.Result ok(String... args) {
        CliFixture.Result r = run(args);
        assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
        assertFalse(r.err().contains("\tat "), r.toString());
        return r;
    }

    @Test
    void aFirstSessionRunsWithoutAFailureTheReadmeDoesNotPredict() throws IOException {
        // 1. The demo, briefly.
        CliFixture.Result demo = ok("sft", "--max-steps", "3", "--output", home.resolve("jtune-demo").toString());
        assertTrue(demo.out().contains("merge it into the base model with: java -jar"), demo.toString());

        // 2. Their own data, in each format, on a small model folder.
        Path model = CliFixture.tinyModel(home.resolve("my-model"));
        List<Path> files = ownData();
        for (Path data : files) {
            String name = data.getFileName().toString();
            Path out = home.resolve("out-" + name.replace('.', '-'));
            CliFixture.Result r = ok("sft", "--model", model.toString(), "--data", data.toString(), "--max-steps",
                    "1", "--save-steps", "0", "--output", out.toString());
            assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")), name + "\n" + r);
            // The model allows 128 positions; the default 2048 is capped with a warning, not refused.
            assertTrue(r.out().contains("warning: max_seq_length 2048 is more than the model's "
                    + "max_position_embeddings 128: using 128"), r.toString());
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                    out.resolve("adapter/adapter_model.safetensors"))));
        }
        Path pairs = writeLines(home.resolve("pairs.jsonl"), noSeparatorPairs());
        for (Path data : List.of(pairs, ParquetFixtures.copy(home, "pairs.parquet"))) {
            ok("dpo", "--model", model.toString(), "--data", data.toString(), "--max-steps", "1", "--save-steps", "0",
                    "--output", home.resolve("dpo-" + data.getFileName()).toString());
        }

        // 3. A model and a dataset by Hub id, from the cache Python filled, offline.
        Path cache = home.resolve("hf/hub");
        String commit = fillCache(cache, "models--acme--tiny-llama", model);
        Path datasetFolder = Files.createDirectories(home.resolve("dataset/data"));
        Files.copy(ParquetFixtures.copy(home, "chat.parquet"), datasetFolder.resolve("train-00000-of-00001.parquet"));
        fillCache(cache, "datasets--acme--chats", datasetFolder.getParent());
        System.setProperty("HF_HUB_CACHE", cache.toString());
        System.setProperty("HF_HUB_OFFLINE", "1");
        Path hubOut = home.resolve("out-hub");
        CliFixture.Result hub = ok("sft", "--model", "acme/tiny-llama", "--data", "acme/chats", "--max-steps", "1",
                "--save-steps", "0", "--output", hubOut.toString());
        assertTrue(hub.out().contains("model: acme/tiny-llama (" + cache.resolve("models--acme--tiny-llama/snapshots/"
                + commit) + ")"), hub.toString());
        assertTrue(hub.out().contains("48 records (messages), all used"), hub.toString());
        JsonNode adapterConfig = JSON.readTree(hubOut.resolve("adapter/adapter_config.json").toFile());
        assertEquals("acme/tiny-llama", adapterConfig.get("base_model_name_or_path").asText());

        // 4. A TRL script's command line, names and booleans as HfArgumentParser takes them.
        Path trlOut = home.resolve("out-trl");
        ok("sft", "--model_name_or_path", "acme/tiny-llama", "--dataset_name", files.getFirst().toString(),
                "--learning_rate", "1e-3", "--num_train_epochs", "1", "--per_device_train_batch_size", "2",
                "--gradient_accumulation_steps", "1", "--max_length", "64", "--output_dir", trlOut.toString(),
                "--bf16", "True", "--logging_steps", "1", "--save_steps", "0", "--lr_scheduler_type", "cosine",
                "--warmup_ratio", "0.1", "--max_steps", "2", "--use_peft", "--lora_r", "8", "--lora_alpha", "16",
                "--lora_dropout", "0.0", "--lora_target_modules", "q_proj", "v_proj", "--report_to", "tensorboard");
        List<TensorBoardEvents.Event> events;
        try (Stream<Path> runs = Files.list(trlOut.resolve("runs"))) {
            events = TensorBoardEvents.read(runs.findFirst().orElseThrow());
        }
        assertEquals(List.of(1L, 2L), events.stream().skip(1).map(TensorBoardEvents.Event::step).toList());
        assertEquals(CliFixture.losses(trlOut).get(1).floatValue(), events.get(2).scalars().get("train/loss"));

        // 5. The same as a YAML config, as TRL and Axolotl users write them.
        Path yaml = Files.writeString(home.resolve("run.yaml"), """
                model_name_or_path: acme/tiny-llama
                datasets:
                  - path: %s
                    type: alpaca
                learning_rate: 0.001
                max_steps: 1
                save_steps: 0
                max_seq_length: 128
                output_dir: %s
                lora_target_modules: [q_proj, k_proj, v_proj]
                """.formatted(files.get(4), home.resolve("out-yaml")));
        CliFixture.Result fromYaml = ok("sft", "--config", yaml.toString());
        assertTrue(fromYaml.out().contains("on q_proj, k_proj, v_proj"), fromYaml.toString());

        // 6. The merge the run printed, as printed.
        String printed = hub.out().lines().filter(l -> l.startsWith("merge it into the base model with: "))
                .findFirst().orElseThrow();
        String[] merge = printed.substring(printed.indexOf(" merge ") + 1).split(" ");
        ok(merge);
        assertTrue(Files.isRegularFile(hubOut.resolve("merged/config.json")));
    }

    /** The same kind of records in every file format and compression the README lists. */
    private List<Path> ownData() throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(writeLines(home.resolve("text.jsonl"), records("text", 8, seed)));
        files.add(writeLines(home.resolve("pc.jsonl.gz"), records("prompt-completion", 8, seed)));
        files.add(writeLines(home.resolve("chat.jsonl.xz"), records("messages", 8, seed)));
        List<String> shareGpt = new ArrayList<>();
        for (String line : records("messages", 8, seed)) {
            ObjectNode r = JSON.createObjectNode();
            var c = r.putArray("conversations");
            for (JsonNode m : JSON.readTree(line).get("messages")) {
                c.addObject().put("from", m.get("role").asText().equals("user") ? "human" : "gpt")
                        .put("value", m.get("content").asText());
            }
            shareGpt.add(r.toString());
        }
        files.add(writeLines(home.resolve("sharegpt.jsonl"), shareGpt));
        List<String> alpaca = records("alpaca", 8, seed);
        files.add(writeLines(home.resolve("alpaca.json"), List.of("[" + String.join(",\n", alpaca) + "]")));
        StringBuilder csv = new StringBuilder("instruction,input,output\n");
        for (String line : alpaca) {
            JsonNode r = JSON.readTree(line);
            csv.append('"').append(r.get("instruction").asText()).append("\",,\"").append(r.get("output").asText())
                    .append("\"\n");
        }
        files.add(Files.writeString(home.resolve("alpaca.csv"), csv));
        files.add(Files.writeString(home.resolve("alpaca.tsv"), csv.toString().replace(",", "\t").replace("\"", "")));
        Path zst = home.resolve("text.jsonl.zst");
        try (OutputStream out = new io.airlift.compress.v3.zstd.ZstdOutputStream(Files.newOutputStream(zst))) {
            out.write((String.join("\n", records("text", 8, seed)) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        files.add(zst);
        files.add(ParquetFixtures.copy(home, "chat.parquet"));
        return files;
    }

    /** Plain-text pairs whose prompt runs into the completions, as TRL trains on them. */
    private List<String> noSeparatorPairs() {
        List<String> out = new ArrayList<>();
        for (String line : records("preference", 8, seed)) {
            out.add(line.replace("\"chosen\":\" ", "\"chosen\":\"").replace("\"rejected\":\" ", "\"rejected\":\""));
        }
        return out;
    }

    /** Lays {@code source}'s files out as huggingface_hub does: blobs by content, snapshot links, refs/main. */
    private String fillCache(Path cache, String repoFolder, Path source) throws IOException {
        String commit = HexFormat.of().formatHex(new byte[20]).replace('0', 'a').substring(0, 32)
                + HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(4).putInt(new Random(seed).nextInt()).array());
        Path repo = cache.resolve(repoFolder);
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
        Files.createDirectories(repo.resolve("blobs"));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), commit);
        try (Stream<Path> all = Files.walk(source)) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                String rel = source.relativize(f).toString();
                String etag = sha256(Files.readAllBytes(f));
                Path blob = repo.resolve("blobs").resolve(etag);
                Files.copy(f, blob, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                Path pointer = snapshot.resolve(rel);
                Files.createDirectories(pointer.getParent());
                Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
            }
        }
        return commit;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsCheckpoint;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each family beyond Llama through the whole command line on the CPU: {@code sft} trains and saves a PEFT adapter,
 * {@code merge} writes a folder with every base tensor and the base config, and the merged model generates what the
 * base model with the adapter on the fly generates (greedy).
 */
class FamilyRunTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "qwen3", "gemma3_text"})
    void trainsMergesAndGenerates(String family) throws IOException {
        Path model = familyModel(dir.resolve("model"), family);
        Path data = CliFixture.writeLines(dir.resolve("chat.jsonl"), CliFixture.records("messages", 12, 7));
        Path out = dir.resolve("out");
        CliFixture.Result trained = CliFixture.train("sft", model, out, 96, 11, "--data", data.toString(),
                "--max-steps", "4", "--batch-size", "2", "--chat-template", "chatml");
        assertEquals(0, trained.exitCode(), trained.toString());
        List<Double> losses = CliFixture.losses(out);
        assertEquals(4, losses.size(), trained.toString());
        assertTrue(losses.stream().allMatch(l -> Double.isFinite(l) && l > 0), losses.toString());
        Path adapter = out.resolve("adapter");
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_model.safetensors")), trained.toString());

        Path merged = dir.resolve("merged");
        CliFixture.Result m = CliFixture.run("merge", "--adapter", adapter.toString(), "--output", merged.toString());
        assertEquals(0, m.exitCode(), m.toString());
        JsonNode mergedConfig = JSON.readTree(merged.resolve("config.json").toFile());
        assertEquals(family, mergedConfig.get("model_type").asText());
        assertEquals(tensorNames(model), tensorNames(merged), "the merged folder holds every base tensor");

        Path prompts = CliFixture.writeLines(dir.resolve("prompts.jsonl"),
                List.of("{\"prompt\": \"cat dog river\"}", "{\"prompt\": \"green light\"}"));
        String onTheFly = generate("--model", model.toString(), "--adapter", adapter.toString(), "--input",
                prompts.toString(), "--output", dir.resolve("a.jsonl").toString());
        String fromMerged = generate("--model", merged.toString(), "--input", prompts.toString(), "--output",
                dir.resolve("b.jsonl").toString());
        assertTrue(!onTheFly.isBlank(), "the model generated nothing");
        assertEquals(onTheFly, fromMerged);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "qwen3", "gemma3_text"})
    void preferenceTunes(String family) throws IOException {
        Path model = familyModel(dir.resolve("model"), family);
        Path data = CliFixture.writeLines(dir.resolve("pairs.jsonl"), CliFixture.records("preference", 8, 3));
        Path out = dir.resolve("dpo");
        CliFixture.Result r = CliFixture.train("dpo", model, out, 64, 13, "--data", data.toString(), "--max-steps",
                "2", "--batch-size", "2", "--lora-r", "4");
        assertEquals(0, r.exitCode(), r.toString());
        List<Double> losses = CliFixture.losses(out);
        assertEquals(2, losses.size(), r.toString());
        // The first step's policy is the reference model (B = 0): the sigmoid loss is log 2 exactly as TRL's.
        assertEquals(Math.log(2), losses.getFirst(), 1e-5, r.toString());
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")), r.toString());
    }

    private static String generate(String... args) throws IOException {
        CliFixture.Result r = CliFixture.run(CliFixture.concat(new String[] {"generate"},
                CliFixture.concat(args, "--temperature", "0", "--max-new-tokens", "8")));
        assertEquals(0, r.exitCode(), r.toString());
        StringBuilder completions = new StringBuilder();
        for (String line : Files.readAllLines(Path.of(args[args.length - 1]))) {
            completions.append(JSON.readTree(line).get("completion").asText()).append('\n');
        }
        return completions.toString();
    }

    private static TreeSet<String> tensorNames(Path folder) throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            return new TreeSet<>(checkpoint.names());
        }
    }

    /** A random tiny model of the family, with the demo tokenizer (its ids in the config). */
    static Path familyModel(Path folder, String family) throws IOException {
        ObjectNode c = DemoModel.configJson();
        c.put("hidden_size", 32);
        c.put("intermediate_size", 48);
        c.put("num_hidden_layers", 3);
        c.put("max_position_embeddings", 128);
        switch (family) {
            case "qwen2" -> {
                c.putArray("architectures").add("Qwen2ForCausalLM");
                c.put("model_type", "qwen2");
                c.put("use_sliding_window", true).put("sliding_window", 6).put("max_window_layers", 1);
            }
            case "qwen3" -> {
                c.putArray("architectures").add("Qwen3ForCausalLM");
                c.put("model_type", "qwen3");
                c.put("head_dim", 16);
            }
            case "gemma3_text" -> {
                c.putArray("architectures").add("Gemma3ForCausalLM");
                c.put("model_type", "gemma3_text");
                c.remove("hidden_act");
                c.put("hidden_activation", "gelu_pytorch_tanh");
                c.put("head_dim", 16).put("query_pre_attn_scalar", 16).put("sliding_window", 6)
                        .put("sliding_window_pattern", 2).put("rope_local_base_freq", 10000.0)
                        .put("tie_word_embeddings", true);
            }
            default -> throw new IllegalArgumentException(family);
        }
        return FamilyGgufModels.write(folder, c, 5);
    }
}

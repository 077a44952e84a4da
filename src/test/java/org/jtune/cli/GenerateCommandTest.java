package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.api.FastLanguageModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.generate.GenerationResult;
import org.jtune.tensor.Tensor;
import org.jtune.tokenizer.ChatMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prompts and conversations from a file, decoded in batches smaller than the file, come back in the input's order,
 * each as the library gives it one at a time (with an adapter on the fly); bad input is refused before any work.
 */
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final long seed = System.nanoTime();

    @Test
    void answersEveryRecordInOrderWithAnAdapter(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        Path adapter = randomAdapter(model, dir.resolve("adapter"));
        Path input = dir.resolve("prompts.jsonl");
        Files.write(input, List.of(
                "{\"id\": \"a\", \"prompt\": \"The river\"}",
                "{\"id\": \"b\", \"messages\": [{\"role\": \"user\", \"content\": \"Define the word \\\"cold\\\".\"}]}",
                "",
                "{\"id\": \"c\", \"prompt\": \"A small bird\", \"extra\": [1, 2]}",
                "{\"id\": \"d\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                        + " {\"role\": \"user\", \"content\": \"And stone?\"}]}",
                "{\"id\": \"e\", \"prompt\": \"Green\"}"));
        Path output = dir.resolve("out/answers.jsonl");
        // no --model: the base is the adapter's base_model_name_or_path
        CliFixture.Result r = CliFixture.run("generate", "--adapter", adapter.toString(), "--input",
                input.toString(), "--output", output.toString(), "--temperature", "0", "--max-new-tokens", "9",
                "--max-batch-size", "2");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("5 prompts from") && r.out().contains("5/5 [") && r.out().contains(
                "wrote 5 answers to " + output), r.toString());
        List<String> lines = Files.readAllLines(output);
        assertEquals(5, lines.size());
        try (InferenceReference ref = new InferenceReference(model, adapter)) {
            check(lines.get(0), "a", ref.complete("The river", 9));
            check(lines.get(1), "b", ref.chat(List.of(ChatMessage.user("Define the word \"cold\".")), 9));
            check(lines.get(2), "c", ref.complete("A small bird", 9));
            check(lines.get(3), "d", ref.chat(List.of(ChatMessage.system("Be brief."), ChatMessage.user("And stone?")),
                    9));
            check(lines.get(4), "e", ref.complete("Green", 9));
        }
        assertEquals("[1,2]", JSON.readTree(lines.get(2)).get("extra").toString());
    }

    private static void check(String line, String id, GenerationResult expected) throws IOException {
        JsonNode json = JSON.readTree(line);
        assertEquals(id, json.get("id").asText());
        assertEquals(expected.text(), json.get("completion").asText(), line);
        assertEquals(expected.finishReason().apiName(), json.get("finish_reason").asText());
        assertEquals(expected.promptTokens(), json.get("prompt_tokens").asInt());
        assertEquals(expected.tokens().length, json.get("completion_tokens").asInt());
    }

    @Test
    void badInputIsRefusedBeforeAnyWork(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        Path input = dir.resolve("bad.jsonl");
        Files.write(input, List.of("{\"prompt\": \"fine\"}", "{\"question\": \"no prompt here\"}"));
        Path output = dir.resolve("out.jsonl");
        CliFixture.Result r = CliFixture.run("generate", "--model", model.toString(), "--input", input.toString(),
                "--output", output.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains(input + ", line 2") && r.err().contains("question"), r.toString());
        assertTrue(!Files.exists(output));

        Files.write(input, List.of("{\"prompt\": \"fine\"}"));
        Files.writeString(output, "keep me\n");
        r = CliFixture.run("generate", "--model", model.toString(), "--input", input.toString(), "--output",
                output.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--overwrite"), r.toString());
        assertEquals("keep me\n", Files.readString(output));
        r = CliFixture.run("generate", "--model", model.toString(), "--input", input.toString(), "--output",
                output.toString(), "--overwrite", "--max-new-tokens", "2");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(1, Files.readAllLines(output).size());
    }

    /** A seeded run gives the same samples again, record by record. */
    @Test
    void seededSamplingRepeats(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        Path input = dir.resolve("p.jsonl");
        Files.write(input, List.of("{\"prompt\": \"one\"}", "{\"prompt\": \"one\"}", "{\"prompt\": \"two\"}"));
        String[] common = {"generate", "--model", model.toString(), "--input", input.toString(), "--do-sample",
                "--temperature", "1.0", "--top-k", "0", "--seed", String.valueOf(seed % 100000), "--max-new-tokens",
                "12"};
        List<String> first = run(common, dir.resolve("a.jsonl")), again = run(common, dir.resolve("b.jsonl"));
        assertEquals(first, again);
        assertTrue(!first.get(0).equals(first.get(1)), "records 1 and 2 share a prompt but not a seed: " + first);
    }

    private static List<String> run(String[] common, Path output) throws IOException {
        String[] args = java.util.Arrays.copyOf(common, common.length + 2);
        args[common.length] = "--output";
        args[common.length + 1] = output.toString();
        CliFixture.Result r = CliFixture.run(args);
        assertEquals(0, r.exitCode(), r.toString());
        return Files.readAllLines(output);
    }

    /** A PEFT adapter folder with every matrix random (so that it changes the answers), naming its base. */
    private Path randomAdapter(Path model, Path folder) throws IOException {
        Random rnd = new Random(seed);
        try (Pretrained p = FastLanguageModel.fromPretrained(model, 64, false);
             PeftModel peft = FastLanguageModel.getPeftModel(p.model())) {
            for (String name : peft.adapters().names()) {
                Tensor t = peft.adapters().tensor(name);
                for (long i = 0; i < t.size(); i++) {
                    t.set(i, (float) (rnd.nextGaussian() * 0.3));
                }
            }
            peft.saveAdapter(folder, model.toString());
        }
        return folder;
    }
}

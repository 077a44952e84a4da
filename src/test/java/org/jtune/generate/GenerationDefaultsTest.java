package org.jtune.generate;

import org.jtune.testing.ByteTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model folder's generation_config.json over transformers' defaults, with every end-of-sequence id collected. */
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
}

package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.testing.TestResources;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vocabularies as llama.cpp will hold them; that llama.cpp then tokenizes alike is ExportGgufLlamaCppTest's. */
class LlamaCppVocabularyTest {
    private static Path demoFolder() {
        return TestResources.folder("/org/jtune/cli/demo").orElseThrow();
    }

    @Test
    void demoTokenizerIsGpt2ByteLevel() {
        Tokenizer demo = Tokenizer.fromDirectory(demoFolder());
        LlamaCppVocabulary v = LlamaCppVocabulary.of(demo, 520, -1, List.of());
        assertEquals("gpt2", v.model());
        assertEquals("gpt-2", v.pre());
        assertEquals(520, v.size());
        assertNull(v.scores(), "llama.cpp's converter writes no scores for BPE vocabularies");
        for (int id = 0; id < 520; id++) {
            int expected = id < 507 ? LlamaCppVocabulary.NORMAL : id < 512 ? LlamaCppVocabulary.CONTROL
                    : LlamaCppVocabulary.UNUSED;
            assertEquals(expected, v.types()[id], "type of " + id);
            assertEquals(id < 512 ? demo.idToToken(id) : "[PAD" + id + "]", v.tokens().get(id));
        }
        assertEquals(251, v.merges().size());
        Set<String> tokens = new HashSet<>(v.tokens());
        for (String merge : v.merges()) {
            String[] parts = merge.split(" ");
            assertEquals(2, parts.length, merge);
            assertTrue(tokens.contains(parts[0]) && tokens.contains(parts[1]) && tokens.contains(parts[0] + parts[1]),
                    merge);
        }
        assertEquals(507, v.bosId());
        assertEquals(508, v.eosId());
        assertEquals(-1, v.unkId());
        assertTrue(v.addBos());
        assertTrue(!v.addEos());
        assertEquals(demo.config().chatTemplate(), v.chatTemplate());
    }

    @Test
    void mistralIsSentencePieceWithMergeRanksAsScores() {
        Tokenizer mistral = TestTokenizers.mistral();
        LlamaCppVocabulary v = LlamaCppVocabulary.of(mistral, 32000, 1, List.of(2));
        assertEquals("llama", v.model());
        assertNull(v.pre());
        assertTrue(v.merges().isEmpty());
        assertTrue(v.addSpacePrefix());
        assertTrue(v.addBos());
        assertEquals(1, v.bosId());
        assertEquals(2, v.eosId());
        assertEquals(0, v.unkId());
        assertEquals(LlamaCppVocabulary.UNKNOWN, v.types()[0]);
        assertEquals(LlamaCppVocabulary.CONTROL, v.types()[1]);
        assertEquals(LlamaCppVocabulary.CONTROL, v.types()[2]);
        for (int b = 0; b < 256; b++) {
            assertEquals(String.format("<0x%02X>", b), v.tokens().get(3 + b));
            assertEquals(LlamaCppVocabulary.BYTE, v.types()[3 + b]);
        }
        // llama.cpp merges the pair whose result scores highest; tokenizers the pair of lowest rank: a token scores
        // minus the first rank that makes it, so that earlier merges win
        MergeTable merges = mistral.model().merges();
        Set<Integer> made = new HashSet<>();
        for (int rank = 0; rank < merges.size(); rank++) {
            int token = merges.mergedId(rank);
            float score = v.scores()[token];
            if (made.add(token)) {
                assertEquals(-rank, score, "token " + token + " first made by merge " + rank);
            } else {
                assertTrue(score > -rank, "token " + token + " made again by merge " + rank);
            }
        }
    }

    @Test
    void llama3IsLlamaBpe() {
        Tokenizer llama3 = TestTokenizers.llama3();
        LlamaCppVocabulary v = LlamaCppVocabulary.of(llama3, 128256, 128000, List.of(128001, 128008, 128009));
        assertEquals("gpt2", v.model());
        assertEquals("llama-bpe", v.pre());
        assertEquals(280147, v.merges().size());
        assertEquals(128000, v.bosId());
        assertEquals(128009, v.eosId(), "eos_token of tokenizer_config.json, <|eot_id|>");
        long control = java.util.Arrays.stream(v.types()).filter(t -> t == LlamaCppVocabulary.CONTROL).count();
        assertEquals(256, control);
        assertTrue(v.addBos());
    }

    @Test
    void qwen3IsQwen2BpeWithTheNfcDifferenceNoted() {
        Tokenizer qwen3 = TestTokenizers.qwen3();
        LlamaCppVocabulary v = LlamaCppVocabulary.of(qwen3, 151936, 151643, List.of(151645));
        assertEquals("gpt2", v.model());
        assertEquals("qwen2", v.pre());
        assertEquals(151936, v.size());
        assertEquals(151643, v.bosId(), "the config's bos_token_id: the tokenizer names none");
        assertEquals(151645, v.eosId(), "<|im_end|>");
        assertEquals(151643, v.padId());
        assertTrue(!v.addBos() && !v.addEos());
        assertEquals(LlamaCppVocabulary.CONTROL, v.types()[qwen3.tokenToId("<|im_start|>")]);
        assertEquals(LlamaCppVocabulary.USER_DEFINED, v.types()[qwen3.tokenToId("<think>")],
                "an added token not special, that does not look special");
        assertEquals(LlamaCppVocabulary.UNUSED, v.types()[151935]);
        assertEquals(1, v.notes().size());
        assertTrue(v.notes().get(0).contains("NFC"), v.notes().toString());
    }

    @Test
    void gemma3IsSentencePieceWithoutSpacePrefixAndDropsTokensPastTheRows() {
        Tokenizer gemma3 = TestTokenizers.gemma3();
        LlamaCppVocabulary v = LlamaCppVocabulary.of(gemma3, 262144, 2, List.of(1, 106));
        assertEquals("llama", v.model());
        assertTrue(!v.addSpacePrefix(), "Gemma's normalizer replaces spaces and prepends nothing");
        assertTrue(v.addBos());
        assertEquals(2, v.bosId());
        assertEquals(262144, v.size());
        assertEquals(List.of("added token(s) 262144 <image_soft_token> lie past the model's 262144 embedding rows and "
                + "are left out of the file (as llama.cpp's converter does)"), v.notes());
        assertEquals(LlamaCppVocabulary.CONTROL, v.types()[gemma3.tokenToId("<start_of_turn>")]);
        assertEquals(LlamaCppVocabulary.CONTROL, v.types()[gemma3.tokenToId("<unused0>")],
                "not special in tokenizer.json, but the converter types <unusedN> as control");
        // runs of spaces are added tokens that merges also make: they keep their merge rank as their score
        int spaces = gemma3.tokenToId("\u2581\u2581");
        assertEquals(LlamaCppVocabulary.USER_DEFINED, v.types()[spaces]);
        MergeTable merges = gemma3.model().merges();
        int first = -1;
        for (int rank = 0; rank < merges.size() && first < 0; rank++) {
            if (merges.mergedId(rank) == spaces) {
                first = rank;
            }
        }
        assertTrue(first >= 0);
        assertEquals(-first, v.scores()[spaces]);
        assertThrows(TokenizerException.class, () -> LlamaCppVocabulary.of(gemma3, 262000, 2, List.of(1)),
                "tokens of the model's own vocabulary past the rows");
    }

    @Test
    void refusesWhatLlamaCppWouldTokenizeOtherwise() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode demo = (ObjectNode) json.readTree(demoFolder().resolve("tokenizer.json").toFile());
        TokenizerConfig config = TokenizerConfig.read(demoFolder().resolve("tokenizer_config.json"), null);

        ObjectNode prefix = demo.deepCopy();
        ((ObjectNode) prefix.get("pre_tokenizer")).put("add_prefix_space", true);
        TokenizerException e = assertThrows(TokenizerException.class, () -> LlamaCppVocabulary.of(
                Tokenizer.fromJson(prefix, "prefix.json", config), 512, -1, List.of()));
        assertTrue(e.getMessage().contains("add_prefix_space"), e.getMessage());

        ObjectNode digits = demo.deepCopy();
        digits.set("pre_tokenizer", json.readTree("""
                {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": "\\\\p{N}"}, "behavior": "Isolated", "invert": false},
                  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}"""));
        e = assertThrows(TokenizerException.class, () -> LlamaCppVocabulary.of(
                Tokenizer.fromJson(digits, "digits.json", config), 512, -1, List.of()));
        assertTrue(e.getMessage().contains("\\p{N}") && e.getMessage().contains("GPT-2's and Llama 3's"), e.getMessage());

        Tokenizer plain = Tokenizer.fromJson(demo, "demo.json", config);
        e = assertThrows(TokenizerException.class, () -> LlamaCppVocabulary.of(plain, 300, -1, List.of()));
        assertTrue(e.getMessage().contains("512 tokens but the model only 300"), e.getMessage());
    }
}

package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Checks ids, offsets, decoding and chat templates against golden files written by Hugging Face
 * tokenizers/transformers (src/test/python/make_tokenizer_goldens.py). Skips while they do not exist.
 */
class HfGoldenTest {
    private static final String GENERATOR =
            "python src/test/python/make_tokenizer_goldens.py target/npm-cache (needs the tokenizers and transformers packages)";

    @ParameterizedTest
    @ValueSource(strings = {"mistral", "llama2", "llama3", "qwen3", "gemma3"})
    void idsOffsetsAndDecodingMatch(String model) {
        JsonNode golden = GoldenFiles.require("golden/hf-" + model + ".json", GENERATOR);
        Tokenizer tok = GoldenFiles.tokenizer(model);
        int checked = 0;
        for (JsonNode c : golden.get("cases")) {
            String text = c.get("text").asText();
            String what = model + " " + TransformersJsGoldenTest.quoted(text);
            int[] ids = tok.encodeIds(text, true);
            assertArrayEquals(GoldenFiles.ints(c.get("ids")), ids, what + ": ids");
            Encoding plain = tok.encode(text, false);
            assertArrayEquals(GoldenFiles.ints(c.get("ids_plain")), plain.ids(), what + ": ids without special tokens");
            JsonNode offsets = c.get("offsets_plain");
            for (int i = 0; i < plain.size(); i++) {
                // The golden offsets count code points; ours count UTF-16 units.
                int start = text.offsetByCodePoints(0, offsets.get(i).get(0).asInt());
                int end = text.offsetByCodePoints(0, offsets.get(i).get(1).asInt());
                assertEquals(start + ".." + end, plain.starts()[i] + ".." + plain.ends()[i], what + ": offsets of token " + i);
            }
            assertEquals(c.get("decoded").asText(), tok.decode(plain.ids(), false), what + ": decode");
            assertEquals(c.get("decoded_skip_special").asText(), tok.decode(ids, true), what + ": decode skipping special tokens");
            checked++;
        }
        assertTrue(checked >= 300, "golden cases checked: " + checked);
    }

    @Test
    void chatTemplatesMatch() {
        JsonNode golden = GoldenFiles.require("golden/hf-chat.json", GENERATOR);
        List<List<ChatMessage>> conversations = GoldenFiles.conversations();
        int checked = 0;
        for (JsonNode c : golden.get("chat")) {
            Tokenizer tok = GoldenFiles.tokenizer(c.get("model").asText());
            ChatTemplate template = GoldenFiles.template(tok, c.get("template").asText());
            List<ChatMessage> conversation = conversations.get(c.get("conversation").asInt());
            boolean prompt = c.get("add_generation_prompt").asBoolean();
            String what = TransformersJsGoldenTest.describe(c);
            if (TransformersJsGoldenTest.checkRaised(c, template, conversation, what)) {
                checked++;
                continue;
            }
            String text = template.render(conversation, prompt, GoldenFiles.chatOptions(c));
            assertEquals(c.get("text").asText(), text, what);
            // apply_chat_template(tokenize=True): the rendered text encoded without adding special tokens.
            assertArrayEquals(GoldenFiles.ints(c.get("ids")), tok.encodeIds(text, false), what + ": ids");
            checked++;
        }
        assertEquals(golden.get("chat").size(), checked);
        assertTrue(checked >= 60, "chat cases checked: " + checked);
    }
}

package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Checks ids, decoding and chat renderings against golden/transformersjs.json, written by
 * src/test/node/make_transformersjs_goldens.cjs with transformers.js (an independent
 * implementation of the Hugging Face tokenizers and of Jinja) from the same npm packages.
 */
class TransformersJsGoldenTest {
    private static final String FILE = "golden/transformersjs.json";
    private static final String GENERATOR = "node src/test/node/make_transformersjs_goldens.cjs target/npm-cache";

    @Test
    void idsAndDecodingMatch() {
        JsonNode golden = GoldenFiles.require(FILE, GENERATOR);
        int checked = 0;
        for (String model : List.of("mistral", "llama3", "qwen3", "gemma3")) {
            Tokenizer tok = GoldenFiles.tokenizer(model);
            assertEquals(GoldenFiles.texts().size(), golden.get("tokenizers").get(model).size(), model + " golden texts");
            for (JsonNode c : golden.get("tokenizers").get(model)) {
                String text = c.get("text").asText();
                assertArrayEquals(GoldenFiles.ints(c.get("ids")), tok.encodeIds(text, true), model + " ids of " + quoted(text));
                assertEquals(c.get("decoded").asText(), tok.decode(tok.encodeIds(text, false), false),
                        model + " decode of " + quoted(text));
                checked++;
            }
        }
        assertEquals(4 * 360, checked, "golden cases checked");
    }

    @Test
    void chatRenderingsMatch() {
        JsonNode golden = GoldenFiles.require(FILE, GENERATOR);
        List<List<ChatMessage>> conversations = GoldenFiles.conversations();
        int checked = 0;
        int raised = 0;
        for (JsonNode c : golden.get("chat")) {
            Tokenizer tok = GoldenFiles.tokenizer(c.get("model").asText());
            ChatTemplate template = GoldenFiles.template(tok, c.get("template").asText());
            List<ChatMessage> conversation = conversations.get(c.get("conversation").asInt());
            if (checkRaised(c, template, conversation, describe(c))) {
                raised++;
            } else {
                assertEquals(c.get("text").asText(),
                        template.render(conversation, c.get("add_generation_prompt").asBoolean(), GoldenFiles.chatOptions(c)),
                        describe(c));
            }
            checked++;
        }
        assertEquals(golden.get("chat").size(), checked);
        assertTrue(checked >= 200 && raised >= 6, "chat cases checked: " + checked + ", of them raising: " + raised);
    }

    /** For a golden entry whose template raised an error: checks that ours raises the same message, and says so. */
    static boolean checkRaised(JsonNode entry, ChatTemplate template, List<ChatMessage> conversation, String what) {
        if (!entry.has("error")) {
            return false;
        }
        TokenizerException e = assertThrows(TokenizerException.class, () -> template.render(conversation,
                entry.get("add_generation_prompt").asBoolean(), GoldenFiles.chatOptions(entry)), what);
        assertTrue(e.getMessage().contains("raised an exception: " + entry.get("error").asText()),
                what + ": expected the template to raise '" + entry.get("error").asText() + "', got: " + e.getMessage());
        return true;
    }

    /** A golden chat entry in words, for messages. */
    static String describe(JsonNode entry) {
        return entry.get("model").asText() + "/" + entry.get("template").asText() + " conversation "
                + entry.get("conversation") + " add_generation_prompt=" + entry.get("add_generation_prompt").asBoolean()
                + (entry.has("variables") ? " variables=" + entry.get("variables") : "")
                + (entry.path("tools").asBoolean(false) ? " with tools" : "");
    }

    static String quoted(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "\"";
    }
}

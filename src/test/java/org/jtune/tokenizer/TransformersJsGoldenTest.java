package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
        for (String model : List.of("mistral", "llama3")) {
            Tokenizer tok = GoldenFiles.tokenizers().get(model);
            for (JsonNode c : golden.get("tokenizers").get(model)) {
                String text = c.get("text").asText();
                assertArrayEquals(GoldenFiles.ints(c.get("ids")), tok.encodeIds(text, true), model + " ids of " + quoted(text));
                assertEquals(c.get("decoded").asText(), tok.decode(tok.encodeIds(text, false), false),
                        model + " decode of " + quoted(text));
                checked++;
            }
        }
        assertTrue(checked >= 600, "golden cases checked: " + checked);
    }

    @Test
    void chatRenderingsMatch() {
        JsonNode golden = GoldenFiles.require(FILE, GENERATOR);
        List<List<ChatMessage>> conversations = GoldenFiles.conversations();
        int checked = 0;
        for (JsonNode c : golden.get("chat")) {
            Tokenizer tok = GoldenFiles.tokenizers().get(c.get("model").asText());
            ChatTemplate template = GoldenFiles.template(tok, c.get("template").asText());
            List<ChatMessage> conversation = conversations.get(c.get("conversation").asInt());
            boolean prompt = c.get("add_generation_prompt").asBoolean();
            assertEquals(c.get("text").asText(), template.render(conversation, prompt),
                    c.get("model").asText() + "/" + c.get("template").asText() + " conversation " + c.get("conversation")
                            + " add_generation_prompt=" + prompt);
            checked++;
        }
        assertTrue(checked >= 60, "chat cases checked: " + checked);
    }

    static String quoted(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "\"";
    }
}

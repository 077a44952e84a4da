package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/** Reads the golden files under src/test/resources/org/jtune/tokenizer and the shared test conversations. */
final class GoldenFiles {
    private GoldenFiles() {
    }

    /** A golden file by name, or a skipped test naming the generator that writes it. */
    static JsonNode require(String name, String generator) {
        JsonNode node = read(name);
        if (node == null) {
            Assumptions.abort("skipped: golden file " + name + " does not exist yet; " + generator + " writes it");
        }
        return node;
    }

    static JsonNode read(String name) {
        try (InputStream in = GoldenFiles.class.getResourceAsStream(name)) {
            return in == null ? null : new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<List<ChatMessage>> conversations() {
        List<List<ChatMessage>> out = new ArrayList<>();
        for (JsonNode conversation : read("golden-conversations.json").get("conversations")) {
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : conversation) {
                messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            }
            out.add(messages);
        }
        return out;
    }

    static List<String> texts() {
        List<String> out = new ArrayList<>();
        read("golden-texts.json").get("texts").forEach(t -> out.add(t.asText()));
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** The template a golden entry names: "shipped" (the tokenizer's own) or a built-in one. */
    static ChatTemplate template(Tokenizer tokenizer, String name) {
        return name.equals("shipped") ? ChatTemplate.of(tokenizer, null)
                : ChatTemplate.of(BuiltinChatTemplate.valueOf(name.toUpperCase()), tokenizer.config());
    }

    static Map<String, Tokenizer> tokenizers() {
        return Map.of("mistral", TestTokenizers.mistral(), "llama2", TestTokenizers.llama2(), "llama3", TestTokenizers.llama3());
    }
}

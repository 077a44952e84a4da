package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
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
                List<ToolCall> calls = new ArrayList<>();
                for (JsonNode call : m.path("tool_calls")) {
                    JsonNode function = call.get("function");
                    calls.add(new ToolCall(function.get("name").asText(), function.get("arguments")));
                }
                messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText(), calls));
            }
            out.add(messages);
        }
        return out;
    }

    /** The tool definitions rendered with the conversations that call tools. */
    static JsonNode tools() {
        return read("golden-conversations.json").get("tools");
    }

    /** The options a golden chat entry was rendered with: its "variables", and the tools when "tools" is true. */
    static ChatOptions chatOptions(JsonNode entry) {
        ChatOptions options = ChatOptions.NONE;
        if (entry.path("tools").asBoolean(false)) {
            options = options.withTools(tools());
        }
        for (var it = entry.path("variables").fields(); it.hasNext(); ) {
            var variable = it.next();
            options = options.withVariable(variable.getKey(), variable.getValue());
        }
        return options;
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

    /** The models the golden files cover. */
    static final List<String> MODELS = List.of("mistral", "llama2", "llama3", "qwen3", "gemma3");

    /** A model's tokenizer, loaded on first use (Gemma 3's file alone is 33 MB). */
    static Tokenizer tokenizer(String model) {
        return switch (model) {
            case "mistral" -> TestTokenizers.mistral();
            case "llama2" -> TestTokenizers.llama2();
            case "llama3" -> TestTokenizers.llama3();
            case "qwen3" -> TestTokenizers.qwen3();
            case "gemma3" -> TestTokenizers.gemma3();
            default -> throw new IllegalArgumentException("no test tokenizer for model '" + model + "'");
        };
    }
}

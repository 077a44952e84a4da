package org.jtune.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The prompts of a request as token ids: a chat's messages through the template, or completion prompts. */
final class PromptReader {
    private PromptReader() {}

    /**
     * {@code messages}: a list of {@code {"role", "content"}}, the content a string or a list of text parts
     * ({@code {"type": "text", "text": ...}}); OpenAI's {@code developer} role is the template's {@code system}.
     */
    static List<ChatMessage> messages(JsonNode body) {
        JsonNode list = body.get("messages");
        SamplingRequest.require(list != null && list.isArray() && !list.isEmpty(),
                "messages must be a non-empty list of {\"role\", \"content\"}", "messages");
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : list) {
            JsonNode role = m.get("role");
            String at = "messages[" + messages.size() + "]";
            SamplingRequest.require(role != null && role.isTextual(), at + " needs a \"role\" string", at + ".role");
            String r = role.asText().toLowerCase(Locale.ROOT);
            SamplingRequest.require(List.of("system", "developer", "user", "assistant").contains(r),
                    at + ": role '" + role.asText() + "' is not supported (system, developer, user, assistant)",
                    at + ".role");
            messages.add(new ChatMessage(r.equals("developer") ? "system" : r, content(m.get("content"), at)));
        }
        return messages;
    }

    private static String content(JsonNode content, String at) {
        if (content != null && content.isTextual()) {
            return content.asText();
        }
        SamplingRequest.require(content != null && content.isArray(),
                at + ".content must be a string or a list of text parts", at + ".content");
        StringBuilder text = new StringBuilder();
        for (JsonNode part : content) {
            SamplingRequest.require("text".equals(part.path("type").asText()) && part.path("text").isTextual(),
                    at + ".content: only text parts ({\"type\": \"text\", \"text\": ...}) are supported, got "
                            + part, at + ".content");
            text.append(part.get("text").asText());
        }
        return text.toString();
    }

    /**
     * {@code prompt}: a string, a list of strings, a list of token ids, or a list of lists of token ids; strings are
     * tokenized as the tokenizer does by default (BOS added where it adds one).
     */
    static List<int[]> completionPrompts(JsonNode body, Tokenizer tokenizer) {
        JsonNode prompt = body.get("prompt");
        SamplingRequest.require(prompt != null && !prompt.isNull(), "prompt is required", "prompt");
        List<int[]> prompts = new ArrayList<>();
        if (prompt.isTextual()) {
            prompts.add(tokenizer.encodeIds(prompt.asText(), true));
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            prompts.add(ids(prompt));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            for (JsonNode p : prompt) {
                if (p.isTextual()) {
                    prompts.add(tokenizer.encodeIds(p.asText(), true));
                } else {
                    SamplingRequest.require(p.isArray() && !p.isEmpty(),
                            "prompt must be a string, a list of strings or a list of token id lists", "prompt");
                    prompts.add(ids(p));
                }
            }
        } else {
            throw ApiError.invalid("prompt must be a non-empty string, list of strings or list of token ids",
                    "prompt");
        }
        return prompts;
    }

    private static int[] ids(JsonNode list) {
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = list.get(i);
            SamplingRequest.require(v.isIntegralNumber() && v.canConvertToInt(), "prompt token ids must be integers",
                    "prompt");
            ids[i] = v.asInt();
        }
        return ids;
    }
}

package org.jtune.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The JSON shapes of OpenAI's two completion endpoints: chat (messages and deltas) or text. */
record ResponseShape(boolean chat, String id) {

    /** {@code {"id", "object", "created", "model"}}. */
    ObjectNode header(ObjectMapper json, String object, long created, String model) {
        return json.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", model);
    }

    /**
     * One streamed chunk of one choice: a chat delta ({@code role} in the first, then {@code content}) or a text
     * piece, with the finish reason in the last (null before).
     */
    ObjectNode chunk(ObjectMapper json, long created, String model, int index, String text, boolean first,
                     String finishReason) {
        ObjectNode root = header(json, chat ? "chat.completion.chunk" : "text_completion", created, model);
        ObjectNode choice = root.putArray("choices").addObject().put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (first) {
                delta.put("role", "assistant").put("content", "");
            } else if (finishReason == null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        return root;
    }
}

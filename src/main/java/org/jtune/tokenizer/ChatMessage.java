package org.jtune.tokenizer;

import java.util.List;

/**
 * One turn of a conversation: a role ("system", "user", "assistant", "tool") and its text, and for an
 * assistant turn the tool calls it made (empty when none).
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls) {
    public ChatMessage {
        if (role == null || content == null) {
            throw new IllegalArgumentException("chat message needs a role and a content, got role=" + role
                    + ", content=" + (content == null ? null : "\"" + content + "\""));
        }
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
        if (!toolCalls.isEmpty() && !role.equals("assistant")) {
            throw new IllegalArgumentException("only an assistant message makes tool calls, found them on role '" + role + "'");
        }
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of());
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** An assistant turn that calls tools; {@code content} is the text before the calls, often empty. */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage("assistant", content, toolCalls);
    }

    /** A tool's answer to a call. */
    public static ChatMessage tool(String content) {
        return new ChatMessage("tool", content);
    }
}

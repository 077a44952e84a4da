package org.jtune.tokenizer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a chat template is given besides the messages and add_generation_prompt, as
 * apply_chat_template passes it: the tool definitions ({@code tools}, JSON schemas of functions) and
 * extra variables such as Qwen3's {@code enable_thinking}.
 */
public record ChatOptions(List<Object> tools, Map<String, Object> variables) {
    /** No tools and no extra variables. */
    public static final ChatOptions NONE = new ChatOptions(null, Map.of());

    /** Names the template context sets itself; a variable may not replace them. */
    private static final Set<String> RESERVED = Set.of("messages", "add_generation_prompt", "tools",
            "bos_token", "eos_token", "unk_token", "pad_token");

    public ChatOptions {
        variables = Map.copyOf(variables);
    }

    /** The same options with these tool definitions (a JSON array, or a List of JSON objects or Maps). */
    public ChatOptions withTools(Object definitions) {
        Object converted = TemplateValues.of(definitions, "tools");
        if (!(converted instanceof List<?> list)) {
            throw new IllegalArgumentException("tools must be a list of tool definitions, found " + converted);
        }
        return new ChatOptions(List.copyOf(list), variables);
    }

    /** The same options with one more template variable. */
    public ChatOptions withVariable(String name, Object value) {
        if (RESERVED.contains(name)) {
            throw new IllegalArgumentException("template variable '" + name + "' is set by the chat template itself");
        }
        Map<String, Object> next = new LinkedHashMap<>(variables);
        Object converted = TemplateValues.of(value, "template variable '" + name + "'");
        if (converted == null) {
            // Map.copyOf takes no null; a variable set to None reads as none in these templates' tests.
            throw new IllegalArgumentException("template variable '" + name + "' is null; leave it out instead");
        }
        next.put(name, converted);
        return new ChatOptions(tools, next);
    }
}

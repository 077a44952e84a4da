package org.jtune.tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A function call an assistant turn made: the function's name and its arguments, a JSON object (as a
 * Jackson tree or a Map) or a string holding JSON, which templates print as given.
 */
public record ToolCall(String name, Object arguments) {
    public ToolCall {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a tool call needs the name of the function it calls");
        }
        arguments = TemplateValues.of(arguments, "the arguments of tool call '" + name + "'");
        if (!(arguments instanceof Map<?, ?> || arguments instanceof String)) {
            throw new IllegalArgumentException("the arguments of tool call '" + name
                    + "' must be a JSON object or a string, found " + arguments);
        }
    }

    /** The call as chat templates see it, in the OpenAI and Hugging Face layout: {type, function: {name, arguments}}. */
    Map<String, Object> templateValue() {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", name);
        function.put("arguments", arguments);
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("type", "function");
        call.put("function", function);
        return call;
    }
}

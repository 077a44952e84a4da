package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts values given to a chat template (tool definitions, tool-call arguments, extra variables)
 * into the values the template engine works with: String, Long, Double, Boolean, null, List and Map,
 * keeping the order of object keys, as tojson prints them in that order.
 */
final class TemplateValues {
    private TemplateValues() {
    }

    /** A JSON tree, a Java string, boolean, integer or floating-point number, or a List or Map of them. */
    static Object of(Object value, String what) {
        return switch (value) {
            case null -> null;
            case JsonNode node -> ofJson(node, what);
            case String s -> s;
            case Boolean b -> b;
            case Integer i -> (long) i;
            case Long l -> l;
            case Float f -> (double) f;
            case Double d -> d;
            case List<?> list -> {
                List<Object> out = new ArrayList<>(list.size());
                for (int i = 0; i < list.size(); i++) {
                    out.add(of(list.get(i), what + "[" + i + "]"));
                }
                yield out;
            }
            case Map<?, ?> map -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException(what + " has a key that is not a string: " + e.getKey());
                    }
                    out.put(key, of(e.getValue(), what + "." + key));
                }
                yield out;
            }
            default -> throw new IllegalArgumentException(what + " is a " + value.getClass().getSimpleName()
                    + "; a chat template takes strings, booleans, numbers, lists, maps and JSON values");
        };
    }

    private static Object ofJson(JsonNode node, String what) {
        if (node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isBoolean()) {
            return node.asBoolean();
        }
        if (node.isIntegralNumber()) {
            if (!node.canConvertToLong()) {
                throw new IllegalArgumentException(what + ": integer " + node + " does not fit in 64 bits");
            }
            return node.asLong();
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isArray()) {
            List<Object> out = new ArrayList<>(node.size());
            for (int i = 0; i < node.size(); i++) {
                out.add(ofJson(node.get(i), what + "[" + i + "]"));
            }
            return out;
        }
        if (node.isObject()) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getKey(), ofJson(e.getValue(), what + "." + e.getKey()));
            }
            return out;
        }
        throw new IllegalArgumentException(what + ": JSON value " + node.getNodeType() + " cannot be given to a chat template");
    }
}

package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/** Small helpers that read tokenizer.json fields and name the file and field when one is missing. */
final class Json {
    private Json() {
    }

    static JsonNode field(JsonNode node, String name, String file) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            throw new TokenizerException(file + ": missing field '" + name + "' in " + abbreviate(node));
        }
        return v;
    }

    static String text(JsonNode node, String name, String file) {
        JsonNode v = field(node, name, file);
        if (!v.isTextual()) {
            throw new TokenizerException(file + ": field '" + name + "' must be a string in " + abbreviate(node));
        }
        return v.asText();
    }

    static JsonNode array(JsonNode node, String name, String file) {
        JsonNode v = field(node, name, file);
        if (!v.isArray()) {
            throw new TokenizerException(file + ": field '" + name + "' must be an array in " + abbreviate(node));
        }
        return v;
    }

    /** Token ids above this are not a vocabulary but a corrupted file (the largest vocabularies hold ~256k). */
    static final int MAX_ID = 1 << 24;

    /** A token id: an integer in [0, MAX_ID); {@code what} names it in the error. */
    static int id(JsonNode v, String what, String file) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() >= MAX_ID) {
            throw new TokenizerException(file + ": " + what + " must be a whole number in [0, " + MAX_ID + "), got "
                    + (v == null ? "nothing" : v.toString()));
        }
        return v.asInt();
    }

    static boolean bool(JsonNode node, String name, boolean fallback) {
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? fallback : v.asBoolean();
    }

    /** A "pattern" field of the form {"String": "..."} (regex patterns are refused here). */
    static String literalPattern(JsonNode node, String file) {
        JsonNode p = field(node, "pattern", file);
        if (p.has("String")) {
            return p.get("String").asText();
        }
        throw new TokenizerException(file + ": only {\"String\": ...} patterns are supported here, found " + p);
    }

    static String abbreviate(JsonNode node) {
        String s = node.toString();
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}

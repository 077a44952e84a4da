package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jtune.tokenizer.ChatMessage;

/** Reads typed fields out of a record, with errors that say which field and what was found. */
final class JsonText {
    /** The roles a message may have. */
    static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private JsonText() {
    }

    static String kind(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase();
        };
    }

    static JsonNode object(JsonRecord record) {
        if (!record.value().isObject()) {
            throw new BadRecordException(record.location(), "a record must be a JSON object, found " + kind(record.value()));
        }
        return record.value();
    }

    static JsonNode field(JsonRecord record, String key, RecordFormat format) {
        JsonNode v = object(record).get(key);
        if (v == null) {
            throw new BadRecordException(record.location(), "missing key '" + key + "' (dataset format: " + format + ")");
        }
        return v;
    }

    /** A string field; {@code nonEmpty} refuses "" and text of white space only. */
    static String string(JsonRecord record, String key, RecordFormat format, boolean nonEmpty) {
        JsonNode v = field(record, key, format);
        if (!v.isTextual()) {
            throw new BadRecordException(record.location(), "'" + key + "' must be a string, found " + kind(v));
        }
        if (nonEmpty && v.asText().isBlank()) {
            throw new BadRecordException(record.location(), "'" + key + "' is empty");
        }
        return v.asText();
    }

    /** An optional string field: absent or null reads as "". */
    static String optionalString(JsonRecord record, String key) {
        JsonNode v = object(record).get(key);
        if (v == null || v.isNull()) {
            return "";
        }
        if (!v.isTextual()) {
            throw new BadRecordException(record.location(), "'" + key + "' must be a string, found " + kind(v));
        }
        return v.asText();
    }

    /**
     * How ShareGPT-style datasets name the speakers ({@code from}), as the role of a message. ShareGPT's own
     * names, the OpenAI names, and Gemini's {@code model}.
     */
    private static final java.util.Map<String, String> SPEAKERS = java.util.Map.of("human", "user", "user", "user",
            "gpt", "assistant", "assistant", "assistant", "model", "assistant", "chatgpt", "assistant",
            "system", "system");

    /**
     * A list of messages with known roles: {role, content} objects, or ShareGPT's {from, value} with the speaker
     * mapped to a role; assistant turns must not be empty.
     */
    static List<ChatMessage> messages(JsonRecord record, JsonNode list, String key) {
        if (!list.isArray()) {
            throw new BadRecordException(record.location(), "'" + key + "' must be a list of messages, found " + kind(list));
        }
        if (list.isEmpty()) {
            throw new BadRecordException(record.location(), "'" + key + "' is an empty list");
        }
        List<ChatMessage> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = key + "[" + i + "]";
            if (!m.isObject()) {
                throw new BadRecordException(record.location(), where + " must be an object {role, content}, found " + kind(m));
            }
            if (!m.has("role") && m.has("from")) {
                out.add(shareGpt(record, m, where));
                continue;
            }
            JsonNode role = m.get("role");
            JsonNode content = m.get("content");
            if (role == null || !role.isTextual()) {
                throw new BadRecordException(record.location(), where + ".role must be a string, found " + kind(role));
            }
            if (!ROLES.contains(role.asText())) {
                throw new BadRecordException(record.location(), where + " has unknown role '" + role.asText()
                        + "' (known: system, user, assistant)");
            }
            if (content == null || !content.isTextual()) {
                throw new BadRecordException(record.location(), where + ".content must be a string, found " + kind(content));
            }
            if (role.asText().equals("assistant") && content.asText().isBlank()) {
                throw new BadRecordException(record.location(), where + " is an empty assistant turn");
            }
            out.add(new ChatMessage(role.asText(), content.asText()));
        }
        return out;
    }

    private static ChatMessage shareGpt(JsonRecord record, JsonNode m, String where) {
        JsonNode from = m.get("from");
        JsonNode value = m.get("value");
        if (!from.isTextual()) {
            throw new BadRecordException(record.location(), where + ".from must be a string, found " + kind(from));
        }
        String role = SPEAKERS.get(from.asText().toLowerCase(java.util.Locale.ROOT));
        if (role == null) {
            throw new BadRecordException(record.location(), where + " is from '" + from.asText() + "', a speaker "
                    + "with no chat role (known: human, user, gpt, assistant, model, system)");
        }
        if (value == null || !value.isTextual()) {
            throw new BadRecordException(record.location(), where + ".value must be a string, found " + kind(value));
        }
        if (role.equals("assistant") && value.asText().isBlank()) {
            throw new BadRecordException(record.location(), where + " is an empty assistant turn");
        }
        return new ChatMessage(role, value.asText());
    }
}

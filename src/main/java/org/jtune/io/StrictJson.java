package org.jtune.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON reader for files a model folder, checkpoint or dataset brings: a document must be one
 * value with nothing after it (trailing garbage, or a second object on a JSON line, is an error
 * rather than silently dropped), and an object may not name a key twice.
 */
public final class StrictJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private StrictJson() {}

    /** Parses {@code text}; the exception's message is Jackson's reason without its source excerpt. */
    public static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /** Jackson's message of a parse error, without the excerpt and location it appends. */
    public static String reason(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        return (m == null ? e.getClass().getSimpleName() : m) + (e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
    }
}

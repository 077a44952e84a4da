package org.jtune.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every case of jinja-goldens.json (written by src/test/python/make_jinja_goldens.py with Jinja2 set
 * up as transformers sets it up): chat templates shaped like those of Qwen, Llama 3.1, Gemma, Phi-3,
 * Zephyr and DeepSeek, each language feature, and templates that must fail. Outputs must match
 * character for character; where Jinja2 fails, ours must fail with a message.
 */
class JinjaGoldenTest {

    @Test
    void everyCaseRendersAsJinja2Does() throws IOException {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("jinja-goldens.json")) {
            assertNotNull(in, "jinja-goldens.json is missing");
            golden = new ObjectMapper().readTree(in);
        }
        List<String> failures = new ArrayList<>();
        int errors = 0;
        for (JsonNode c : golden.get("cases")) {
            String name = c.get("name").asText();
            @SuppressWarnings("unchecked")
            Map<String, Object> vars = (Map<String, Object>) value(c.get("variables"));
            String template = c.get("template").asText();
            try {
                String out = JinjaTemplate.compile(template).render(vars, RenderBudget.DEFAULT);
                if (c.has("error")) {
                    failures.add(name + ": Jinja2 fails with " + c.get("error").asText() + " ("
                            + c.get("message").asText() + ") but this rendered " + out);
                } else if (!out.equals(c.get("output").asText())) {
                    failures.add(name + ":\n  expected " + ObjectMapperHolder.quote(c.get("output").asText())
                            + "\n  got      " + ObjectMapperHolder.quote(out));
                }
            } catch (JinjaException e) {
                if (!c.has("error")) {
                    failures.add(name + ": unexpected error " + e.describe());
                } else {
                    errors++;
                    assertFalse(e.getMessage() == null || e.getMessage().isBlank(), name);
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " cases differ:\n" + String.join("\n", failures));
        assertTrue(errors >= 20, "the error cases ran: " + errors);
    }

    /** JSON as the values a template receives: maps, lists, strings, longs, doubles, booleans, null. */
    static Object value(JsonNode n) {
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            n.properties().forEach(e -> m.put(e.getKey(), value(e.getValue())));
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(value(x)));
            return l;
        }
        if (n.isIntegralNumber()) {
            return n.asLong();
        }
        if (n.isNumber()) {
            return n.asDouble();
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        return n.isNull() ? null : n.asText();
    }

    private static final class ObjectMapperHolder {
        private static final ObjectMapper MAPPER = new ObjectMapper();

        static String quote(String s) {
            try {
                return MAPPER.writeValueAsString(s);
            } catch (IOException e) {
                return s;
            }
        }
    }
}

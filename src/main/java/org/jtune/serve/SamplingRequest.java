package org.jtune.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.generate.GenerationConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The fields that OpenAI's completion endpoints share: {@code max_tokens} (or {@code max_completion_tokens}),
 * {@code temperature} (0 is greedy), {@code top_p}, {@code seed}, {@code stop}, {@code n}, {@code stream} and
 * {@code stream_options.include_usage}; and, as vLLM accepts them, {@code top_k}, {@code min_p} and
 * {@code repetition_penalty}. Fields a request leaves out take the model's generation settings. Penalties and
 * options the server does not implement are refused unless they ask for nothing.
 *
 * @param config the generation settings of the first choice; choice i of a seeded request uses seed + i
 */
record SamplingRequest(GenerationConfig config, int n, boolean stream, boolean includeUsage) {
    /** Most choices one request may ask for. */
    static final int MAX_N = 16;

    static SamplingRequest parse(JsonNode body, GenerationConfig defaults, Integer defaultMaxTokens) {
        GenerationConfig c = defaults;
        try {
            Integer maxTokens = integer(body, "max_completion_tokens");
            if (maxTokens == null) {
                maxTokens = integer(body, "max_tokens");
            }
            if (maxTokens == null) {
                maxTokens = defaultMaxTokens;
            }
            if (maxTokens != null) {
                require(maxTokens > 0, "max_tokens must be at least 1, got " + maxTokens, "max_tokens");
                c = c.withMaxNewTokens(maxTokens);
            }
            Double temperature = number(body, "temperature");
            if (temperature != null) {
                require(temperature >= 0 && temperature <= 2, "temperature must be between 0 and 2, got "
                        + temperature, "temperature");
                c = temperature == 0 ? c.withDoSample(false) : c.withDoSample(true).withTemperature(temperature);
            }
            Double topP = number(body, "top_p");
            if (topP != null) {
                require(topP > 0 && topP <= 1, "top_p must be in (0, 1], got " + topP, "top_p");
                c = c.withTopP(topP);
            }
            Integer topK = integer(body, "top_k");
            if (topK != null) {
                require(topK >= -1, "top_k must be -1 or 0 (off) or positive, got " + topK, "top_k");
                c = c.withTopK(Math.max(topK, 0));
            }
            Double minP = number(body, "min_p");
            if (minP != null) {
                require(minP >= 0 && minP <= 1, "min_p must be in [0, 1], got " + minP, "min_p");
                c = c.withMinP(minP);
            }
            Double repetition = number(body, "repetition_penalty");
            if (repetition != null) {
                require(repetition > 0, "repetition_penalty must be positive, got " + repetition,
                        "repetition_penalty");
                c = c.withRepetitionPenalty(repetition);
            }
            if (body.hasNonNull("seed")) {
                JsonNode seed = body.get("seed");
                require(seed.canConvertToLong(), "seed must be an integer, got " + seed, "seed");
                c = c.withSeed(seed.asLong());
            }
            c = c.withStopStrings(stops(body));
        } catch (IllegalArgumentException e) { // a value GenerationConfig refuses
            throw ApiError.invalid(e.getMessage(), null);
        }
        for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
            Double v = number(body, penalty);
            require(v == null || v == 0, penalty + " is not supported (use repetition_penalty)", penalty);
        }
        JsonNode logprobs = body.get("logprobs");
        require(logprobs == null || logprobs.isNull() || (logprobs.isBoolean() && !logprobs.asBoolean()),
                "logprobs are not supported", "logprobs");
        require(!body.hasNonNull("tools") || body.get("tools").isEmpty(), "tools are not supported", "tools");
        Integer n = integer(body, "n");
        n = n == null ? 1 : n;
        require(n >= 1 && n <= MAX_N, "n must be 1 to " + MAX_N + ", got " + n, "n");
        JsonNode stream = body.get("stream");
        require(stream == null || stream.isNull() || stream.isBoolean(), "stream must be true or false", "stream");
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        return new SamplingRequest(c, n, stream != null && stream.asBoolean(), includeUsage);
    }

    /** The settings of choice {@code i}: its own seed where the request is seeded, so that choices differ. */
    GenerationConfig forChoice(int i) {
        return config.seed() == null ? config : config.withSeed(config.seed() + i);
    }

    private static List<String> stops(JsonNode body) {
        JsonNode stop = body.get("stop");
        List<String> list = new ArrayList<>();
        if (stop == null || stop.isNull()) {
            return list;
        }
        if (stop.isTextual()) {
            list.add(stop.asText());
            return list;
        }
        require(stop.isArray(), "stop must be a string or a list of strings", "stop");
        for (JsonNode s : stop) {
            require(s.isTextual() && !s.asText().isEmpty(), "stop must hold non-empty strings, got " + s, "stop");
            list.add(s.asText());
        }
        return list;
    }

    static Integer integer(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        require(v.isIntegralNumber() && v.canConvertToInt(), field + " must be an integer, got " + v, field);
        return v.asInt();
    }

    static Double number(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        require(v.isNumber(), field + " must be a number, got " + v, field);
        return v.asDouble();
    }

    static void require(boolean ok, String message, String param) {
        if (!ok) {
            throw ApiError.invalid(message, param);
        }
    }
}

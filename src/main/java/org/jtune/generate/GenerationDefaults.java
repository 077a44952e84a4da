package org.jtune.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.model.ModelConfig;
import org.jtune.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A model's own generation settings, as transformers takes them: {@code generation_config.json} in the model folder
 * (sampling settings, {@code eos_token_id}), with the end-of-sequence ids of {@code config.json} and the tokenizer's
 * {@code eos_token} added, so that generation stops at any of them (Llama 3 Instruct ends a turn with
 * {@code <|eot_id|>}, Llama 3.1-3.3 a turn that calls a tool with {@code <|eom_id|>}, their base models a text with
 * {@code <|end_of_text|>}; Qwen ends a turn with {@code <|im_end|>}, Gemma 3 with {@code <end_of_turn>}).
 */
public final class GenerationDefaults {
    public static final String FILE = "generation_config.json";

    private GenerationDefaults() {}

    /**
     * transformers' defaults overridden by the folder's {@code generation_config.json} where it has one.
     *
     * @param folder    the model folder (or an adapter folder with the tokenizer files), may lack the file
     * @param tokenizer null if there is none
     */
    public static GenerationConfig read(Path folder, ModelConfig model, Tokenizer tokenizer) throws IOException {
        GenerationConfig c = GenerationConfig.defaults();
        Set<Integer> eos = new LinkedHashSet<>(model.eosTokenIds());
        Path file = folder == null ? null : folder.resolve(FILE);
        if (file != null && Files.isRegularFile(file)) {
            JsonNode json;
            try {
                json = new ObjectMapper().readTree(file.toFile());
            } catch (IOException e) {
                throw new IOException(file + ": not valid JSON (" + e.getMessage() + ")", e);
            }
            try {
                c = apply(json, c, eos);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }
        if (tokenizer != null && tokenizer.config().eosToken() != null) {
            Integer id = tokenizer.tokenToId(tokenizer.config().eosToken());
            if (id != null) {
                eos.add(id);
            }
        }
        return c.withEosTokenIds(eos);
    }

    private static GenerationConfig apply(JsonNode json, GenerationConfig c, Set<Integer> eos) {
        if (has(json, "do_sample")) {
            c = c.withDoSample(json.get("do_sample").asBoolean());
        }
        if (has(json, "temperature")) {
            c = c.withTemperature(number(json, "temperature"));
        }
        if (has(json, "top_k")) {
            c = c.withTopK((int) number(json, "top_k"));
        }
        if (has(json, "top_p")) {
            c = c.withTopP(number(json, "top_p"));
        }
        if (has(json, "min_p")) {
            c = c.withMinP(number(json, "min_p"));
        }
        if (has(json, "repetition_penalty")) {
            c = c.withRepetitionPenalty(number(json, "repetition_penalty"));
        }
        if (has(json, "max_new_tokens")) {
            c = c.withMaxNewTokens((int) number(json, "max_new_tokens"));
        }
        if (has(json, "eos_token_id")) {
            JsonNode ids = json.get("eos_token_id");
            for (JsonNode id : ids.isArray() ? ids : new ObjectMapper().createArrayNode().add(ids)) {
                if (!id.canConvertToInt()) {
                    throw new IllegalArgumentException("eos_token_id must be a token id or a list of them, got " + ids);
                }
                eos.add(id.asInt());
            }
        }
        return c;
    }

    private static boolean has(JsonNode json, String key) {
        return json.has(key) && !json.get(key).isNull();
    }

    private static double number(JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (!v.isNumber()) {
            throw new IllegalArgumentException(key + " must be a number, got " + v);
        }
        return v.asDouble();
    }
}

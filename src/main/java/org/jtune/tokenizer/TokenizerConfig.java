package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.io.StrictJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What tokenizer_config.json and special_tokens_map.json add to tokenizer.json: the names of the
 * special tokens and the chat template (null when the model ships none).
 */
public record TokenizerConfig(String bosToken, String eosToken, String unkToken, String padToken, String chatTemplate) {

    public static final TokenizerConfig EMPTY = new TokenizerConfig(null, null, null, null, null);

    /** Reads either file when it exists; special_tokens_map.json wins where both name a token. */
    public static TokenizerConfig read(Path tokenizerConfig, Path specialTokensMap) {
        JsonNode config = readIfExists(tokenizerConfig);
        JsonNode map = readIfExists(specialTokensMap);
        String file = tokenizerConfig == null ? "tokenizer_config.json" : tokenizerConfig.toString();
        return new TokenizerConfig(
                token(map, config, "bos_token"),
                token(map, config, "eos_token"),
                token(map, config, "unk_token"),
                token(map, config, "pad_token"),
                chatTemplate(config, file));
    }

    private static JsonNode readIfExists(Path path) {
        if (path == null || !Files.exists(path)) {
            return null;
        }
        if (!Files.isRegularFile(path)) {
            throw new TokenizerException(path + " is not a regular file (a FIFO, device or folder)");
        }
        try {
            return StrictJson.MAPPER.readTree(path.toFile());
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** A special token is given as a string or as an object with "content". */
    private static String token(JsonNode first, JsonNode second, String name) {
        for (JsonNode node : new JsonNode[] {first, second}) {
            JsonNode v = node == null ? null : node.get(name);
            if (v == null || v.isNull()) {
                continue;
            }
            return v.isTextual() ? v.asText() : v.path("content").asText(null);
        }
        return null;
    }

    /** The chat template: a string, or a list of named templates of which "default" is used. */
    private static String chatTemplate(JsonNode config, String file) {
        JsonNode t = config == null ? null : config.get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return Json.text(named, "template", file);
                }
            }
            throw new TokenizerException(file + ": chat_template is a list without a template named 'default'");
        }
        throw new TokenizerException(file + ": chat_template must be a string or a list of {name, template}");
    }
}

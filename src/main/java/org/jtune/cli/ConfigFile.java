package org.jtune.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A config file of option settings: one JSON object, or a YAML mapping (files named {@code .yaml} / {@code .yml},
 * as TRL and Axolotl write them), of option names to values. Errors name the file, the line and column, and the
 * problem, without the parser's internals.
 */
final class ConfigFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigFile() {}

    /** The file's settings as written, in file order. */
    static Map<String, JsonNode> read(Path file) {
        boolean yaml = isYaml(file);
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new UsageException("config file not found: " + file);
        } catch (IOException e) {
            throw new UsageException("cannot read the config file " + file + ": " + e.getMessage());
        }
        JsonNode root;
        try {
            root = (yaml ? YAML : JSON).readTree(text);
        } catch (JsonProcessingException e) {
            throw new UsageException(file + ": not valid " + (yaml ? "YAML" : "JSON") + where(e.getLocation()) + ": "
                    + firstLine(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return Map.of();
        }
        if (!root.isObject()) {
            throw new UsageException(file + ": a config file must hold one " + (yaml ? "YAML mapping" : "JSON object")
                    + " of option names and values");
        }
        Map<String, JsonNode> out = new LinkedHashMap<>();
        root.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static boolean isYaml(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".yaml") || name.endsWith(".yml");
    }

    private static String where(JsonLocation at) {
        return at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "cannot be parsed";
        }
        String line = message.strip().lines().findFirst().orElse(message);
        return line.replaceAll("\\s*\\(for input source.*", "");
    }
}

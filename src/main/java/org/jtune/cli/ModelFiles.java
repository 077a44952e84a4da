package org.jtune.cli;

import org.jtune.io.PeftAdapterFiles;
import org.jtune.io.hub.RepoId;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** File chores around model folders: the tokenizer files that travel with adapters and merged models, checkpoints. */
final class ModelFiles {
    /** What a model folder holds besides config and weights that a user of the output needs. */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "generation_config.json");
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-\\d+");

    private ModelFiles() {}

    /** Copies those of {@link #TOKENIZER_FILES} that {@code from} has into {@code to}. */
    static void copyTokenizerFiles(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String name : TOKENIZER_FILES) {
            Path file = from.resolve(name);
            if (Files.isRegularFile(file)) {
                Files.copy(file, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The names of the {@code checkpoint-<step>} folders in {@code folder}, sorted; none if it does not exist. */
    static List<String> checkpoints(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(folder)) {
            return list.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> CHECKPOINT.matcher(n).matches()).sorted().toList();
        }
    }

    /** Deletes a folder and everything in it. */
    static void deleteTree(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> all = Files.walk(folder)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The base model the adapter names: a folder here or a Hub id (as PEFT's AutoPeftModel finds it). */
    static String baseOf(Path adapter) throws IOException {
        String named = PeftAdapterFiles.read(adapter).config().baseModelNameOrPath();
        if (named == null || named.isBlank()) {
            throw new UsageException("--model is required: " + adapter + " does not name its base model");
        }
        if (!Files.isDirectory(Path.of(named)) && !RepoId.looksLikeRepo(named)) {
            throw new UsageException("--model is required: " + adapter + " names its base model '" + named
                    + "', which is neither a folder here nor a Hub id");
        }
        return named;
    }
}

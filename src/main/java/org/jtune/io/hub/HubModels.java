package org.jtune.io.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Models by Hub id ({@code org/name[@revision]}): the files a Llama / Mistral model needs (config, tokenizer,
 * safetensors weights, the shards its index lists), from the shared cache or downloaded into it. Other files of the
 * repository (PyTorch {@code .bin} weights, GGUF, {@code original/}) are not fetched.
 */
public final class HubModels {
    static final String CONFIG = "config.json";
    static final String TOKENIZER = "tokenizer.json";
    static final String WEIGHTS = "model.safetensors";
    static final String WEIGHTS_INDEX = "model.safetensors.index.json";
    /** Read where present: special tokens, chat template, generation defaults. */
    static final List<String> OPTIONAL = List.of("tokenizer_config.json", "special_tokens_map.json",
            "generation_config.json", "chat_template.jinja");

    private HubModels() {}

    /**
     * The model folder {@code name} means: the folder itself where it is one here, else the snapshot of the Hub
     * model of that id (fetched as needed). Anything else is an error that says which of the two was looked for.
     */
    public static Path locate(String name, HubSettings settings, DownloadProgress progress) throws IOException {
        Path local = Path.of(name);
        if (Files.isDirectory(local)) {
            return local;
        }
        if (Files.exists(local)) {
            throw new IllegalArgumentException(name + " is a file; give the model's folder (with config.json, "
                    + "the *.safetensors weights and tokenizer.json) or a Hub id such as org/name");
        }
        if (!RepoId.looksLikeRepo(name)) {
            throw new java.nio.file.NoSuchFileException(name, null,
                    "no such model folder (nor a Hub id: those read org/name or org/name@revision)");
        }
        return fetch(RepoId.parse(RepoId.Kind.MODEL, name), new HubDownloader(settings, progress));
    }

    /** The snapshot folder of a Hub model, holding every file it needs. */
    public static Path fetch(RepoId repo, HubDownloader hub) throws IOException {
        Snapshot snapshot = hub.open(repo);
        List<String> files = snapshot.files();
        require(snapshot, files, CONFIG, "it is not a transformers model");
        require(snapshot, files, TOKENIZER, "jtune reads the tokenizer from tokenizer.json, the 'fast' tokenizer "
                + "file most Llama and Mistral repositories carry");
        Set<String> wanted = new LinkedHashSet<>();
        wanted.add(CONFIG);
        wanted.add(TOKENIZER);
        for (String f : OPTIONAL) {
            if (files.contains(f)) {
                wanted.add(f);
            }
        }
        if (files.contains(WEIGHTS_INDEX)) {
            wanted.add(WEIGHTS_INDEX);
        } else {
            require(snapshot, files, WEIGHTS, "jtune reads safetensors weights (" + WEIGHTS + " or a sharded "
                    + WEIGHTS_INDEX + "); PyTorch .bin weights are not read");
            wanted.add(WEIGHTS);
        }
        for (String f : wanted) {
            snapshot.file(f);
        }
        if (wanted.contains(WEIGHTS_INDEX)) {
            for (String shard : shards(snapshot.file(WEIGHTS_INDEX))) {
                snapshot.file(shard);
            }
        }
        return snapshot.folder();
    }

    private static void require(Snapshot snapshot, List<String> files, String file, String why) throws HubException {
        if (!files.contains(file)) {
            throw new HubException(snapshot.repo().describe() + " has no " + file
                    + (snapshot.online() ? "" : " in the cache (" + snapshot.folder() + ")") + ": " + why);
        }
    }

    /** The shard files a safetensors index maps its tensors to, in order of first mention. */
    static List<String> shards(Path index) throws IOException {
        JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
        if (map == null || !map.isObject()) {
            throw new HubException(index + " has no \"weight_map\"");
        }
        Set<String> shards = new LinkedHashSet<>();
        map.properties().forEach(e -> shards.add(e.getValue().asText()));
        return new ArrayList<>(shards);
    }
}

package org.jtune.io.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Datasets by Hub id ({@code org/name[@revision]}): the data files of the train split, from the shared cache or
 * downloaded into it. Which files hold the train split follows the naming rules of the {@code datasets} library:
 * a file or folder named for the split ({@code train.jsonl}, {@code data/train-00000-of-00002.parquet},
 * {@code train/part-0.csv}, {@code my_train_data.json}); a repository whose files name no split at all is one
 * train split. Data files are parquet, JSON Lines, JSON, CSV and TSV, optionally compressed.
 */
public final class HubDatasets {
    private static final Pattern DATA_FILE = Pattern.compile(
            ".*\\.(parquet|jsonl|json|ndjson|csv|tsv)(\\.(gz|bz2|xz|zst))?", Pattern.CASE_INSENSITIVE);
    /** A split keyword as a whole word of a path: between separators, digits or the ends. */
    private static final String EDGE = "(^|[-._ /0-9])";
    private static final String END = "([-._ /0-9]|$)";
    private static final Pattern TRAIN = Pattern.compile(EDGE + "(train|training)" + END, Pattern.CASE_INSENSITIVE);
    private static final Pattern ANY_SPLIT = Pattern.compile(EDGE
            + "(train|training|test|testing|eval|evaluation|valid|validation|dev|val)" + END, Pattern.CASE_INSENSITIVE);

    private HubDatasets() {}

    /**
     * The data files {@code name} means: the file itself where it is one here, else the train split's files of the
     * Hub dataset of that id (fetched as needed).
     */
    public static List<Path> locate(String name, HubSettings settings, DownloadProgress progress) throws IOException {
        Path local = Path.of(name);
        if (Files.exists(local) || !RepoId.looksLikeRepo(name)) {
            return List.of(local); // a missing plain path is reported by the reader, with its name
        }
        RepoId repo = RepoId.parse(RepoId.Kind.DATASET, name);
        try {
            return fetchTrainSplit(repo, new HubDownloader(settings, progress));
        } catch (HubException e) {
            throw new HubException(name + " is not a file here, and as a Hub dataset: " + e.getMessage(), e);
        }
    }

    /** The train split's data files of a Hub dataset, in name order. */
    public static List<Path> fetchTrainSplit(RepoId repo, HubDownloader hub) throws IOException {
        Snapshot snapshot = hub.open(repo);
        List<String> files = trainFiles(snapshot.files());
        if (files.isEmpty()) {
            throw new HubException(repo.describe() + (snapshot.online() ? "" : " (as cached in " + snapshot.folder()
                    + ")") + " has no data files of a train split (parquet, jsonl, json, csv, tsv) among "
                    + snapshot.files().size() + " files" + sample(snapshot.files()));
        }
        List<Path> out = new ArrayList<>();
        for (String f : files) {
            out.add(snapshot.file(f));
        }
        return out;
    }

    /** The data files of the train split among a repository's files. */
    static List<String> trainFiles(List<String> files) {
        List<String> data = files.stream().filter(f -> DATA_FILE.matcher(f).matches())
                .filter(f -> !isMetadata(f)).sorted().toList();
        List<String> train = data.stream().filter(f -> TRAIN.matcher(f).find()).toList();
        if (!train.isEmpty()) {
            return train;
        }
        return data.stream().anyMatch(f -> ANY_SPLIT.matcher(f).find()) ? List.of() : data;
    }

    /** JSON files of the repository's own bookkeeping, not data. */
    private static boolean isMetadata(String path) {
        String name = path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        return name.startsWith("dataset_info") || name.equals("dataset_dict.json") || name.equals("state.json")
                || name.startsWith(".") || path.startsWith(".");
    }

    private static String sample(List<String> files) {
        List<String> first = files.stream().limit(8).toList();
        return first.isEmpty() ? "" : ": " + String.join(", ", first) + (files.size() > first.size() ? ", ..." : "");
    }
}

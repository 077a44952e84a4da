package org.jtune.io;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a model folder's tensors as Hugging Face does: one {@code model.safetensors} when they fit in one
 * shard, else {@code model-00001-of-0000N.safetensors} files plus {@code model.safetensors.index.json}.
 * Every file is written atomically; checkpoint files of an earlier save that the new one does not use are
 * removed afterwards, so the folder never mixes two saves once this returns.
 */
public final class SafetensorsCheckpointWriter {
    /** huggingface_hub's default largest shard: 5 GB. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private SafetensorsCheckpointWriter() {}

    /**
     * Writes {@code tensors} (in this order) into {@code folder}, starting a new shard whenever the next tensor
     * would take the current one past {@code maxShardBytes}; a tensor larger than that gets a shard of its own.
     */
    public static void write(Path folder, List<TensorData> tensors, long maxShardBytes) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<TensorData>> shards = split(tensors, maxShardBytes);
        Files.createDirectories(folder);
        Set<String> written = new HashSet<>();
        if (shards.size() == 1) {
            writeShard(folder.resolve(SafetensorsCheckpoint.SINGLE_FILE), shards.get(0));
            written.add(SafetensorsCheckpoint.SINGLE_FILE);
        } else {
            ObjectNode weightMap = JsonNodeFactory.instance.objectNode();
            long totalSize = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                writeShard(folder.resolve(name), shards.get(i));
                written.add(name);
                for (TensorData tensor : shards.get(i)) {
                    weightMap.put(tensor.name(), name);
                    totalSize += tensor.byteSize();
                }
            }
            writeIndex(folder.resolve(SafetensorsCheckpoint.INDEX_FILE), weightMap, totalSize);
            written.add(SafetensorsCheckpoint.INDEX_FILE);
        }
        removeStaleFiles(folder, written);
    }

    /** huggingface_hub's greedy split ({@code split_state_dict_into_shards_factory}). */
    private static List<List<TensorData>> split(List<TensorData> tensors, long maxShardBytes) {
        List<List<TensorData>> shards = new ArrayList<>();
        List<TensorData> current = new ArrayList<>();
        long currentBytes = 0;
        Set<String> names = new HashSet<>();
        for (TensorData tensor : tensors) {
            if (!names.add(tensor.name())) {
                throw new IllegalArgumentException("tensor \"" + tensor.name() + "\" given twice");
            }
            if (tensor.byteSize() > maxShardBytes) {
                shards.add(List.of(tensor));
                continue;
            }
            if (currentBytes + tensor.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(tensor);
            currentBytes += tensor.byteSize();
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private static void writeShard(Path file, List<TensorData> tensors) throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        tensors.forEach(writer::add);
        writer.write(file);
    }

    /** As transformers: {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}. */
    private static void writeIndex(Path file, ObjectNode weightMap, long totalSize) throws IOException {
        ObjectNode index = JsonNodeFactory.instance.objectNode();
        index.putObject("metadata").put("total_size", totalSize);
        index.set("weight_map", weightMap);
        AtomicFiles.write(file, (PythonJson.dumpsSorted(index) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void removeStaleFiles(Path folder, Set<String> written) throws IOException {
        List<Path> stale;
        try (Stream<Path> files = Files.list(folder)) {
            stale = files.filter(file -> {
                String name = file.getFileName().toString();
                boolean checkpointFile = name.equals(SafetensorsCheckpoint.SINGLE_FILE)
                        || name.equals(SafetensorsCheckpoint.INDEX_FILE) || SHARD_NAME.matcher(name).matches();
                return checkpointFile && !written.contains(name);
            }).toList();
        }
        for (Path file : stale) {
            Files.deleteIfExists(file);
        }
    }
}

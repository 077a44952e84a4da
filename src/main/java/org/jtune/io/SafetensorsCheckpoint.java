package org.jtune.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a model folder: one {@code model.safetensors}, or shards listed by
 * {@code model.safetensors.index.json} (its {@code weight_map} names the shard of each tensor).
 * Looks tensors up by name across shards; all shards stay mapped until {@link #close}.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    /** File name of an unsharded checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** File name of the index of a sharded checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private final Path folder;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileByTensor;

    private SafetensorsCheckpoint(Path folder, List<SafetensorsFile> files, Map<String, SafetensorsFile> fileByTensor) {
        this.folder = folder;
        this.files = files;
        this.fileByTensor = fileByTensor;
    }

    /**
     * Opens the checkpoint in {@code folder}: {@code model.safetensors} if present (as transformers prefers
     * it), else the index and every shard it names, checking that each listed tensor is in its shard.
     */
    public static SafetensorsCheckpoint open(Path folder) throws IOException {
        Path single = folder.resolve(SINGLE_FILE);
        if (Files.exists(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            file.names().forEach(name -> byTensor.put(name, file));
            return new SafetensorsCheckpoint(folder, List.of(file), byTensor);
        }
        Path index = folder.resolve(INDEX_FILE);
        if (!Files.exists(index)) {
            throw new java.nio.file.NoSuchFileException(folder.toString(), null,
                    "no " + SINGLE_FILE + " and no " + INDEX_FILE + " in this folder");
        }
        return openSharded(folder, index);
    }

    private static SafetensorsCheckpoint openSharded(Path folder, Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            for (Map.Entry<String, String> entry : weightMap.entrySet()) {
                String shardName = entry.getValue();
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = folder.resolve(shardName);
                    if (!Files.exists(shardPath)) {
                        throw new SafetensorsFormatException(index, "shard \"" + shardName + "\" (listed for tensor \""
                                + entry.getKey() + "\") does not exist in " + folder);
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(entry.getKey())) {
                    throw new SafetensorsFormatException(index, "tensor \"" + entry.getKey() + "\" is listed in shard \""
                            + shardName + "\" but that shard has no such tensor");
                }
                byTensor.put(entry.getKey(), shard);
            }
            return new SafetensorsCheckpoint(folder, List.copyOf(shards.values()), byTensor);
        } catch (IOException | RuntimeException | Error e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(index, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsFormatException(index, "has no \"weight_map\" object");
        }
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
            JsonNode shard = entry.getValue();
            if (!shard.isTextual() || !isPlainFileName(shard.textValue())) {
                throw new SafetensorsFormatException(index, "weight_map entry for \"" + entry.getKey()
                        + "\" must be a file name in the same folder, found " + shard);
            }
            result.put(entry.getKey(), shard.textValue());
        }
        return result;
    }

    /** Shard names must not lead out of the checkpoint folder. */
    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..")
                && name.indexOf('/') < 0 && name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
    }

    /** The checkpoint folder. */
    public Path folder() {
        return folder;
    }

    /** All tensor names: the weight_map's order for a sharded checkpoint, else the file's order. */
    public List<String> names() {
        return List.copyOf(fileByTensor.keySet());
    }

    /** True if the checkpoint has a tensor called {@code name}. */
    public boolean contains(String name) {
        return fileByTensor.containsKey(name);
    }

    /** The (possibly shard) file holding {@code name}. */
    public SafetensorsFile fileOf(String name) throws SafetensorsFormatException {
        SafetensorsFile file = fileByTensor.get(name);
        if (file == null) {
            throw new SafetensorsFormatException(folder, "checkpoint has no tensor \"" + name + "\" ("
                    + (files.size() == 1 ? files.get(0).path().getFileName() : INDEX_FILE + " lists "
                    + fileByTensor.size() + " tensors") + ")");
        }
        return file;
    }

    /** Dtype, shape and byte range of {@code name} within its file. */
    public TensorInfo info(String name) throws SafetensorsFormatException {
        return fileOf(name).info(name);
    }

    /** The bytes of {@code name}, read-only, straight from the mapping. */
    public MemorySegment data(String name) throws SafetensorsFormatException {
        return fileOf(name).data(name);
    }

    /** {@code name} as float32 on the heap (from F32, F64, BF16 or F16). */
    public float[] readFloats(String name) throws SafetensorsFormatException {
        return fileOf(name).readFloats(name);
    }

    /** The files of this checkpoint, in shard order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Unmaps every file. */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}

package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.io.TensorData;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelConfigJson;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Writes a base model with its LoRA adapters merged in, {@code W' = W + scaling · B·A} (summed in double, rounded
 * once to the output dtype), as a transformers checkpoint folder: {@code config.json} and {@code model.safetensors},
 * or shards plus {@code model.safetensors.index.json} when larger than a shard. Merged and converted tensors are
 * staged in a memory-mapped scratch file in the folder, so that a 7B model does not need its size in heap.
 */
public final class MergedModelWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.*)");
    private static final String SCRATCH = ".merged-weights.scratch";

    private MergedModelWriter() {}

    /**
     * @param base           every tensor of the base model (F32, BF16 or F16), under its transformers name
     * @param dtype          the dtype of the written weights (BF16, F16 or F32)
     * @param originalConfig the base model's config.json to copy (keeps its other keys), or null to write one from
     *                       {@code config}
     */
    public static void write(Path folder, ModelConfig config, WeightSource base, LoraAdapters lora, DType dtype,
                             JsonNode originalConfig, long maxShardBytes) throws IOException {
        ModelConfigJson.torchName(dtype); // refuses other dtypes before any work
        List<String> names = new ArrayList<>(base.names());
        names.sort(Comparator.comparing(MergedModelWriter::sortKey));
        Map<String, LoraTarget> merged = mergedProjections(config, lora);
        for (String name : merged.keySet()) {
            if (!base.has(name)) {
                throw new IllegalArgumentException(base.description() + ": no tensor " + name
                        + " to merge its LoRA adapter into");
            }
        }
        long scratchBytes = 0;
        for (String name : names) {
            Tensor t = base.tensor(name);
            if (!t.dtype().isComputeFloat()) {
                throw new IllegalArgumentException(base.description() + ": tensor " + name + " is " + t.dtype()
                        + "; merging needs unquantized F32/BF16/F16 weights");
            }
            if (merged.containsKey(name) || t.dtype() != dtype) {
                scratchBytes += t.size() * dtype.byteSize();
            }
        }
        Files.createDirectories(folder);
        Path scratchFile = folder.resolve(SCRATCH);
        try (Arena arena = Arena.ofShared();
             FileChannel channel = FileChannel.open(scratchFile, StandardOpenOption.CREATE,
                     StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment scratch = scratchBytes == 0 ? MemorySegment.NULL
                    : channel.map(FileChannel.MapMode.READ_WRITE, 0, scratchBytes, arena);
            List<TensorData> out = new ArrayList<>();
            long offset = 0;
            for (String name : names) {
                Tensor w = base.tensor(name);
                LoraTarget target = merged.get(name);
                if (target == null && w.dtype() == dtype) {
                    requireFinite(w, name, "in the base model");
                    out.add(new TensorData(name, dtype, w.shape(), w.segment()));
                    continue;
                }
                long bytes = w.size() * dtype.byteSize();
                Tensor dst = Tensor.wrap(scratch.asSlice(offset, bytes), dtype, w.shape());
                offset += bytes;
                if (target == null) {
                    dst.copyFrom(w);
                    requireFinite(dst, name, "converted to " + dtype);
                } else {
                    merge(w, lora.adapter(layerOf(name), target), lora.config().scaling(), dst);
                    requireFinite(dst, name, "merged with its LoRA adapter (scaling " + lora.config().scaling()
                            + ") and rounded to " + dtype);
                }
                out.add(new TensorData(name, dtype, w.shape(), dst.segment()));
            }
            SafetensorsCheckpointWriter.write(folder, out, maxShardBytes);
        } finally {
            Files.deleteIfExists(scratchFile);
            deleteIfEmpty(folder);
        }
        String json = JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(ModelConfigJson.write(config, dtype, originalConfig));
        Files.writeString(folder.resolve("config.json"), json + "\n", StandardCharsets.UTF_8);
    }

    /**
     * Refuses a tensor with a NaN or infinite element, so that no merged model of non-finite weights is
     * ever written (an adapter of NaN/huge weights, or an overflow of the output dtype).
     */
    static void requireFinite(Tensor t, String name, String how) {
        long n = t.size();
        long bad = IntStream.range(0, Math.toIntExact((n + 65535) / 65536)).parallel().mapToLong(chunk -> {
            long end = Math.min(n, (chunk + 1L) * 65536);
            for (long i = chunk * 65536L; i < end; i++) {
                if (!Float.isFinite(t.get(i))) {
                    return i;
                }
            }
            return Long.MAX_VALUE;
        }).min().orElse(Long.MAX_VALUE);
        if (bad != Long.MAX_VALUE) {
            throw new NonFiniteWeightException("tensor " + name + " " + how + " has a non-finite value ("
                    + t.get(bad) + ") at element " + bad + " of shape " + java.util.Arrays.toString(t.shape())
                    + "; refusing to write a model of garbage weights (nothing was written)");
        }
    }

    private static void deleteIfEmpty(Path folder) throws IOException {
        if (Files.isDirectory(folder)) {
            try (var entries = Files.list(folder)) {
                if (entries.findAny().isEmpty()) {
                    Files.delete(folder);
                }
            }
        }
    }

    /** {@code dst = w + scaling · B·A}, row by row in parallel (each row is written by one thread only). */
    static void merge(Tensor w, LoraAdapters.Adapter adapter, float scaling, Tensor dst) {
        int out = Math.toIntExact(w.dim(0)), in = Math.toIntExact(w.dim(1));
        int rank = Math.toIntExact(adapter.a().dim(0));
        float[][] a = new float[rank][in];
        for (int r = 0; r < rank; r++) {
            adapter.a().readRow(r, a[r]);
        }
        Tensor b = adapter.b();
        IntStream.range(0, out).parallel().forEach(o -> {
            double[] delta = new double[in];
            for (int r = 0; r < rank; r++) {
                double bor = b.get((long) o * rank + r);
                float[] ar = a[r];
                for (int i = 0; i < in; i++) {
                    delta[i] += bor * ar[i];
                }
            }
            long base = (long) o * in;
            for (int i = 0; i < in; i++) {
                dst.set(base + i, (float) (w.get(base + i) + scaling * delta[i]));
            }
        });
    }

    /** Weight names of the adapted projections, e.g. {@code model.layers.0.self_attn.q_proj.weight}. */
    private static Map<String, LoraTarget> mergedProjections(ModelConfig config, LoraAdapters lora) {
        Map<String, LoraTarget> m = new HashMap<>();
        for (int l = 0; l < config.numLayers(); l++) {
            for (LoraTarget t : lora.config().targets()) {
                m.put(AdapterFiles.modulePath(l, t) + ".weight", t);
            }
        }
        return m;
    }

    private static int layerOf(String name) {
        Matcher m = LAYER.matcher(name);
        if (!m.matches()) {
            throw new IllegalStateException("not a layer tensor: " + name);
        }
        return Integer.parseInt(m.group(1));
    }

    /** Orders layers by number (layer 2 before layer 10), as transformers' state dicts do. */
    private static String sortKey(String name) {
        Matcher m = LAYER.matcher(name);
        if (m.matches()) {
            return "model.layers." + String.format("%09d", Integer.parseInt(m.group(1))) + "." + m.group(2);
        }
        return name.startsWith("lm_head") ? "~" + name : name;
    }
}

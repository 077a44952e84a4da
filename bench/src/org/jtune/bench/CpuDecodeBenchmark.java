package org.jtune.bench;

import org.jtune.model.ModelWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.Nf4OnLoad;
import org.jtune.model.WeightSource;
import org.jtune.model.cpu.CpuDecodeEngine;
import org.jtune.quant.Blocksizes;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The CPU decode engine on a TinyLlama-1.1B-shaped model (hidden 2048, 32 heads over 4 key/value heads,
 * intermediate 5632, vocabulary 32000) with random weights and {@code --layers} of its 22 layers: prefill of a
 * {@code --prompt}-token prompt, then {@code --new} decode steps, at batch 1 (bf16 and NF4 weights) and batch 8
 * (bf16), in tokens/s; and the share of the memory-bandwidth bound at batch 1: bytes of weights and cache read per
 * token over the machine's copy bandwidth (STREAM's convention: bytes read plus bytes written per second, all
 * cores). Run it with and without {@code --add-modules jdk.incubator.vector} to compare the Vector API kernels with
 * plain loops (the records name which ran).
 * <pre>CpuDecodeBenchmark [--layers N] [--prompt N] [--new N] [--out FILE.jsonl]</pre>
 * The commit recorded comes from the JTUNE_COMMIT environment variable.
 */
public final class CpuDecodeBenchmark {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private CpuDecodeBenchmark() {}

    public static void main(String[] args) throws IOException {
        int layers = 4, prompt = 128, fresh = 32;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--prompt" -> prompt = Integer.parseInt(args[++i]);
                case "--new" -> fresh = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        ModelConfig config = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000,
                 "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": %d, "num_attention_heads": 32,
                 "num_key_value_heads": 4, "rms_norm_eps": 1e-5, "max_position_embeddings": 2048,
                 "rope_theta": 10000.0}""".formatted(layers), "TinyLlama-1.1B shape");
        boolean vectorApi = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        String command = "java " + (vectorApi ? "--add-modules jdk.incubator.vector " : "")
                + "-cp ... org.jtune.bench.CpuDecodeBenchmark " + String.join(" ", args);
        String machine = "none (" + Runtime.getRuntime().availableProcessors() + "-core CPU)";
        String commit = System.getenv().getOrDefault("JTUNE_COMMIT", "unknown");
        String date = LocalDate.now().toString();
        double copyBandwidth = copyBandwidth();
        System.out.printf("TinyLlama-1.1B shape, %d layers; copy bandwidth %.1f GB/s%n", layers, copyBandwidth / 1e9);
        List<BenchRecord> records = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            WeightSource source = randomBf16(config, arena);
            ModelWeights bf16 = ModelWeights.load(config, source);
            ModelWeights nf4 = ModelWeights.load(config, source, new Nf4OnLoad(Blocksizes.DEFAULT, true, arena));
            for (Run run : List.of(new Run("bf16", bf16, 1), new Run("nf4", nf4, 1), new Run("bf16", bf16, 8))) {
                try (CpuDecodeEngine engine = new CpuDecodeEngine(config, run.weights(), null, run.batch(),
                        prompt + fresh + 1)) {
                    String kernels = engine.describe().contains("scalar loops") ? "scalar" : "vector";
                    String prefix = "cpu_decode.tinyllama_" + layers + "l." + run.format() + "." + kernels + ".batch"
                            + run.batch() + ".";
                    Timing t = time(engine, config, prompt, fresh, run.batch());
                    System.out.printf("%s: %s%n  prefill %.1f tokens/s, decode %.2f tokens/s%n", prefix,
                            engine.describe(), t.prefillTokensPerSecond(), t.decodeTokensPerSecond());
                    records.add(record(prefix + "prefill", t.prefillTokensPerSecond(), "tokens/s", machine, commit,
                            date, command));
                    records.add(record(prefix + "decode", t.decodeTokensPerSecond(), "tokens/s", machine, commit,
                            date, command));
                    if (run.batch() == 1) {
                        // per step: every weight once, and the cache of the positions attended to
                        double bytes = weightBytes(run.weights()) + cacheBytesRead(config, prompt, fresh);
                        double bound = copyBandwidth / bytes;
                        System.out.printf("  %.1f MB read per token, bound %.2f tokens/s: %.0f%% of it%n",
                                bytes / 1e6, bound, 100 * t.decodeTokensPerSecond() / bound);
                        records.add(record(prefix + "decode_share_of_bandwidth_bound",
                                t.decodeTokensPerSecond() / bound, "fraction", machine, commit, date, command));
                    }
                }
            }
        }
        records.add(record("cpu_decode.copy_bandwidth", copyBandwidth / 1e9, "GB/s", machine, commit, date, command));
        List<String> lines = records.stream().map(BenchRecord::toJsonLine).toList();
        if (out != null) {
            Files.write(out, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    private record Run(String format, ModelWeights weights, int batch) {}

    private record Timing(double prefillTokensPerSecond, double decodeTokensPerSecond) {}

    /** One warm-up round, then the measured one. */
    private static Timing time(CpuDecodeEngine engine, ModelConfig config, int prompt, int fresh, int batch) {
        Timing t = null;
        for (int round = 0; round < 2; round++) {
            SplittableRandom rnd = new SplittableRandom(round);
            int[] slots = new int[batch], tokens = new int[batch];
            float[] logits = new float[batch * config.vocabSize()];
            long start = System.nanoTime();
            for (int s = 0; s < batch; s++) {
                engine.reset(s);
                engine.prefill(s, rnd.ints(prompt, 0, config.vocabSize()).toArray(), logits);
                slots[s] = s;
            }
            double prefill = (double) batch * prompt / ((System.nanoTime() - start) / 1e9);
            start = System.nanoTime();
            for (int step = 0; step < fresh; step++) {
                for (int s = 0; s < batch; s++) {
                    tokens[s] = rnd.nextInt(config.vocabSize());
                }
                engine.decode(slots, tokens, logits);
            }
            t = new Timing(prefill, (double) batch * fresh / ((System.nanoTime() - start) / 1e9));
        }
        return t;
    }

    private static double weightBytes(ModelWeights w) {
        double bytes = w.lmHead().segment().byteSize() + 2.0 * w.norm().size();
        for (ModelWeights.Layer layer : w.layers()) {
            for (LoraTarget t : LoraTarget.values()) {
                bytes += layer.projection(t).heldBytes();
            }
        }
        return bytes;
    }

    /** Keys and values (float32) of the positions a decode step reads, on average over the steps. */
    private static double cacheBytesRead(ModelConfig c, int prompt, int fresh) {
        return 2.0 * c.numLayers() * c.kvWidth() * Float.BYTES * (prompt + fresh / 2.0);
    }

    /** Copies 512 MiB in parallel chunks; STREAM counts the bytes read and written. Best of five. */
    private static double copyBandwidth() {
        long bytes = 512L << 20, chunk = 8L << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment from = arena.allocate(bytes, 64), to = arena.allocate(bytes, 64);
            from.fill((byte) 1);
            to.fill((byte) 2);
            double best = 0;
            for (int round = 0; round < 5; round++) {
                long start = System.nanoTime();
                IntStream.range(0, (int) (bytes / chunk)).parallel().forEach(c ->
                        MemorySegment.copy(from, c * chunk, to, c * chunk, chunk));
                best = Math.max(best, 2.0 * bytes / ((System.nanoTime() - start) / 1e9));
            }
            return best;
        }
    }

    /** Normal(0, 0.02) matrices and norm weights near 1, in bf16, made on all cores. */
    private static WeightSource randomBf16(ModelConfig c, Arena arena) {
        Map<String, Tensor> w = new HashMap<>();
        int d = c.hiddenSize(), inner = c.intermediateSize();
        w.put("model.embed_tokens.weight", matrix(arena, 1, c.vocabSize(), d));
        w.put("lm_head.weight", matrix(arena, 2, c.vocabSize(), d));
        w.put("model.norm.weight", ones(arena, d));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = ModelWeights.layerPrefix(l);
            w.put(p + "input_layernorm.weight", ones(arena, d));
            w.put(p + "post_attention_layernorm.weight", ones(arena, d));
            long seed = 100L * (l + 1);
            w.put(p + "self_attn.q_proj.weight", matrix(arena, seed, c.qWidth(), d));
            w.put(p + "self_attn.k_proj.weight", matrix(arena, seed + 1, c.kvWidth(), d));
            w.put(p + "self_attn.v_proj.weight", matrix(arena, seed + 2, c.kvWidth(), d));
            w.put(p + "self_attn.o_proj.weight", matrix(arena, seed + 3, d, c.qWidth()));
            w.put(p + "mlp.gate_proj.weight", matrix(arena, seed + 4, inner, d));
            w.put(p + "mlp.up_proj.weight", matrix(arena, seed + 5, inner, d));
            w.put(p + "mlp.down_proj.weight", matrix(arena, seed + 6, d, inner));
        }
        return WeightSource.of(w, "random bf16 weights");
    }

    private static Tensor matrix(Arena arena, long seed, int rows, int cols) {
        MemorySegment data = arena.allocate((long) rows * cols * 2, 64);
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + r);
            for (int j = 0; j < cols; j++) {
                data.setAtIndex(BF16, (long) r * cols + j, HalfFloats.floatToBf16((float) (rnd.nextGaussian() * 0.02)));
            }
        });
        return Tensor.wrap(data, DType.BF16, rows, cols);
    }

    private static Tensor ones(Arena arena, int n) {
        Tensor t = Tensor.allocate(arena, DType.BF16, n);
        t.fill(1f);
        return t;
    }

    private static BenchRecord record(String name, double value, String unit, String machine, String commit,
                                      String date, String command) {
        return new BenchRecord(name, value, unit, null, null, !unit.equals("s"), machine, commit, date, command);
    }
}

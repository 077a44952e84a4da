package org.jtune.bench;

import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.Stream;
import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;
import org.jtune.model.gpu.GpuDecodeEngine;
import org.jtune.model.gpu.MemoryPlan;
import org.jtune.model.gpu.MemoryUse;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Generation on the GPU decode engine at the Llama-3-8B shape with random weights, bf16 and NF4 (block 64, double
 * quantization): a 512-token prompt prefilled, then 256 greedy decode steps (argmax on the host, as a generate loop
 * does), for one sequence and for 16 decoded together. Records decode tokens per second, prefill tokens per second,
 * and the memory-bandwidth bound of a decode step: the bytes it must read (every weight it multiplies, the LM head,
 * the key/value cache at the step's mean length) over the device's measured copy bandwidth (bytes read plus
 * written, as copies are counted), and the fraction of it reached.
 */
final class DecodeBenchmark implements BenchMain.Benchmark {
    private static final int PROMPT = 512, NEW_TOKENS = 256, BATCH = 16;
    private static final int CAPACITY = PROMPT + NEW_TOKENS;
    private static final long COPY_BYTES = 2L << 30;
    private static final int COPY_REPEATS = 7;

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) throws Exception {
        return run(records, "");
    }

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records, String only) {
        Context context = Context.primary(Device.get(0));
        ModelConfig c = TrainBenchmark.config("LlamaForCausalLM", "llama", 128256, 14336, 8, 8192, 500000, "");
        List<BenchRecord> out = new ArrayList<>();
        double copyBandwidth = copyBandwidth(context);
        out.add(records.make("decode.copy_bandwidth", copyBandwidth / 1e9, "GB/s", true));
        System.out.printf("device copy bandwidth %.0f GB/s (read + written)%n", copyBandwidth / 1e9);
        Double bf16TokensPerSecond = null;
        try (Arena arena = Arena.ofShared()) {
            WeightSource source = TrainBenchmark.sharedRandomWeights(c, arena);
            for (String format : List.of("bf16", "nf4")) {
                String part = "llama3_8b." + format, prefix = "decode." + part;
                if (!part.startsWith(only)) {
                    continue;
                }
                ModelWeights weights = format.equals("nf4")
                        ? ModelWeights.load(c, source, TrainBenchmark.quantizedOncePerShape(arena))
                        : ModelWeights.load(c, source);
                try (GpuDecodeEngine engine = GpuDecodeEngine.create(context, c, weights, null, BATCH, CAPACITY)) {
                    System.out.println(prefix + ": " + engine.memoryReport());
                    Run one = generate(engine, 1);
                    Run many = generate(engine, BATCH);
                    double bytes = stepBytes(engine.memoryPlan(), c, 1);
                    double bound = copyBandwidth / bytes;
                    out.add(records.make(prefix + ".b1.tokens_per_s", one.decodeTokensPerSecond, "tokens/s", true));
                    out.add(records.make(prefix + ".b1.bound_tokens_per_s", bound, "tokens/s", true));
                    out.add(records.make(prefix + ".b1.fraction_of_bound", one.decodeTokensPerSecond / bound, "ratio",
                            true));
                    out.add(records.make(prefix + ".b1.step_gb", bytes / 1e9, "GB", false));
                    out.add(records.make(prefix + ".b1.prefill_tokens_per_s", one.prefillTokensPerSecond, "tokens/s",
                            true));
                    out.add(records.make(prefix + ".b16.tokens_per_s", many.decodeTokensPerSecond, "tokens/s",
                            true));
                    out.add(records.make(prefix + ".b16.fraction_of_bound",
                            many.decodeTokensPerSecond / (BATCH * copyBandwidth / stepBytes(engine.memoryPlan(), c,
                                    BATCH)), "ratio", true));
                    if (format.equals("bf16")) {
                        bf16TokensPerSecond = one.decodeTokensPerSecond;
                    } else if (bf16TokensPerSecond != null) {
                        out.add(records.make(prefix + ".b1.over_bf16", one.decodeTokensPerSecond
                                / bf16TokensPerSecond, "ratio", true));
                    }
                }
            }
        }
        return out;
    }

    private record Run(double prefillTokensPerSecond, double decodeTokensPerSecond) {}

    /**
     * Prefills {@code sequences} prompts, then decodes {@link #NEW_TOKENS} greedy tokens for all of them together;
     * a first pass of a few steps captures the decode graph and is not timed.
     */
    private static Run generate(GpuDecodeEngine engine, int sequences) {
        int vocab = engine.vocabSize();
        SplittableRandom random = new SplittableRandom(11);
        float[] logits = new float[sequences * vocab];
        int[] slots = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            slots[s] = s;
        }
        for (int pass = 0; pass < 2; pass++) {
            boolean timed = pass == 1;
            int[] next = new int[sequences];
            long prefillNanos = 0;
            for (int s = 0; s < sequences; s++) {
                engine.reset(s);
                int[] prompt = new int[PROMPT];
                for (int t = 0; t < PROMPT; t++) {
                    prompt[t] = random.nextInt(vocab);
                }
                long start = System.nanoTime();
                engine.prefill(s, prompt, logits);
                prefillNanos += System.nanoTime() - start;
                next[s] = argmax(logits, 0, vocab);
            }
            int steps = timed ? NEW_TOKENS : 4;
            long start = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                engine.decode(slots, next, logits);
                for (int s = 0; s < sequences; s++) {
                    next[s] = argmax(logits, s * vocab, vocab);
                }
            }
            long decodeNanos = System.nanoTime() - start;
            if (timed) {
                return new Run(sequences * PROMPT / (prefillNanos / 1e9),
                        (double) sequences * NEW_TOKENS / (decodeNanos / 1e9));
            }
        }
        throw new AssertionError("unreachable");
    }

    private static int argmax(float[] values, int from, int count) {
        int best = from;
        for (int i = from + 1; i < from + count; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best - from;
    }

    /**
     * Bytes one decode step of {@code sequences} rows must read: the weights it multiplies (everything the engine
     * holds as weights but the embedding table, of which it reads one row per sequence) and each sequence's cached
     * keys and values at the mean length of the timed steps.
     */
    private static double stepBytes(MemoryPlan plan, ModelConfig c, int sequences) {
        double weights = plan.bytes(MemoryUse.WEIGHTS) - 2.0 * c.vocabSize() * c.hiddenSize();
        double meanLength = PROMPT + (NEW_TOKENS - 1) / 2.0;
        double cache = sequences * meanLength * c.numLayers() * 2.0 * c.kvWidth() * 2;
        return weights + cache;
    }

    /** The median device-to-device copy bandwidth, counting the bytes read and the bytes written. */
    private static double copyBandwidth(Context context) {
        double[] rates = new double[COPY_REPEATS];
        try (Stream stream = context.createStream();
             DeviceBuffer a = context.allocate(COPY_BYTES);
             DeviceBuffer b = context.allocate(COPY_BYTES);
             Event start = new Event(context);
             Event end = new Event(context)) {
            a.fillBytesAsync(3, stream);
            b.copyFromAsync(a, COPY_BYTES, stream);
            for (int r = 0; r < COPY_REPEATS; r++) {
                start.record(stream);
                b.copyFromAsync(a, COPY_BYTES, stream);
                end.record(stream);
                end.synchronize();
                rates[r] = 2.0 * COPY_BYTES / (Event.elapsedMillis(start, end) / 1e3);
            }
        }
        return BenchUtil.median(rates);
    }
}

package org.jtune.bench;

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
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.Nf4OnLoad;
import org.jtune.quant.Blocksizes;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;

/**
 * Quantize-on-load of a whole Llama-3-8B-shaped model's projections (32 layers of q, k, v, o, gate, up, down)
 * through the loader's own {@link Nf4OnLoad} (blocksize 64, double quantization): wall time and bytes held.
 * Random bf16 weights are made layer by layer and freed after quantization, so the bf16 model (13 GiB) never
 * exists at once; only quantization is timed, in wall time and in CPU time of the process (which other
 * processes on a shared machine do not inflate).
 * <pre>QuantizeOnLoadBenchmark [--layers N] [--out FILE.jsonl]</pre>
 * The commit recorded comes from the JTUNE_COMMIT environment variable.
 */
public final class QuantizeOnLoadBenchmark {
    private static final double GIB = 1024.0 * 1024 * 1024;
    private static final int HIDDEN = 4096, KV_WIDTH = 1024, INTERMEDIATE = 14336;
    private static final int CHUNK = 1 << 20;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final short[] NORMAL_POOL = normalPool(42);

    private QuantizeOnLoadBenchmark() {}

    private static long[] shape(LoraTarget t) {
        return switch (t) {
            case Q, O -> new long[] {HIDDEN, HIDDEN};
            case K, V -> new long[] {KV_WIDTH, HIDDEN};
            case GATE, UP -> new long[] {INTERMEDIATE, HIDDEN};
            case DOWN -> new long[] {HIDDEN, INTERMEDIATE};
        };
    }

    public static void main(String[] args) throws IOException {
        int layers = 32;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        int threads = ForkJoinPool.getCommonPoolParallelism() + 1;
        System.out.printf("%d layers of Llama-3-8B projections, %d threads%n", layers, threads);
        long quantizeNanos = 0, cpuNanos = 0, weights = 0, held = 0;
        try (Arena model = Arena.ofShared()) {
            Nf4OnLoad quantizer = new Nf4OnLoad(Blocksizes.DEFAULT, true, model);
            for (int layer = 0; layer < layers; layer++) {
                long layerNanos = 0;
                for (LoraTarget t : LoraTarget.values()) {
                    long[] shape = shape(t);
                    try (Arena scratch = Arena.ofShared()) {
                        Tensor bf16 = randomBf16(scratch, shape, 1000L * layer + t.ordinal());
                        long start = System.nanoTime(), cpuStart = processCpuNanos();
                        FrozenLinearWeight nf4 = quantizer.hold(ModelWeights.layerPrefix(layer) + t.modulePath(), bf16);
                        layerNanos += System.nanoTime() - start;
                        cpuNanos += processCpuNanos() - cpuStart;
                        held += nf4.heldBytes();
                        weights += bf16.size();
                    }
                }
                quantizeNanos += layerNanos;
                System.out.printf("layer %2d: %.2f s, held so far %.2f GiB, rss %.2f GiB%n", layer, layerNanos / 1e9,
                        held / GIB, residentBytes("VmRSS") / GIB);
            }
            double seconds = quantizeNanos / 1e9;
            long rss = residentBytes("VmRSS"), peak = residentBytes("VmHWM");
            String command = "java -cp ... org.jtune.bench.QuantizeOnLoadBenchmark " + String.join(" ", args);
            String gpu = "none (" + Runtime.getRuntime().availableProcessors() + "-core CPU)";
            String commit = System.getenv().getOrDefault("JTUNE_COMMIT", "unknown");
            String date = LocalDate.now().toString();
            String prefix = "cpu_nf4_quantize_on_load_llama3_8b_" + layers + "_layers_";
            List<BenchRecord> records = new ArrayList<>();
            records.add(record(prefix + "time", seconds, "s", false, gpu, commit, date, command));
            records.add(record(prefix + "cpu_time", cpuNanos / 1e9, "s", false, gpu, commit, date, command));
            records.add(record(prefix + "throughput", weights / seconds / 1e6, "Mweights/s", true, gpu, commit, date,
                    command));
            records.add(record(prefix + "nf4_held", held / GIB, "GiB", false, gpu, commit, date, command));
            records.add(record(prefix + "bf16_equivalent", weights * 2 / GIB, "GiB", false, gpu, commit, date,
                    command));
            records.add(record(prefix + "process_rss_after", rss / GIB, "GiB", false, gpu, commit, date, command));
            records.add(record(prefix + "process_peak_rss", peak / GIB, "GiB", false, gpu, commit, date, command));
            List<String> lines = new ArrayList<>();
            for (BenchRecord r : records) {
                System.out.printf("%-70s %10.3f %s%n", r.name(), r.value(), r.unit());
                lines.add(r.toJsonLine());
            }
            if (out != null) {
                Files.write(out, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
        }
    }

    private static BenchRecord record(String name, double value, String unit, boolean higherIsBetter, String gpu,
                                      String commit, String date, String command) {
        return new BenchRecord(name, value, unit, null, null, higherIsBetter, gpu, commit, date, command);
    }

    /**
     * Normal(0, 0.02) bf16 values: each element drawn uniformly from a pool of 2^20 normal samples, which keeps the
     * distribution and costs one random integer per element. Made on all cores, each chunk seeded on its own.
     */
    private static Tensor randomBf16(Arena arena, long[] shape, long seed) {
        long n = shape[0] * shape[1];
        MemorySegment data = arena.allocate(n * 2, 8);
        int chunks = Math.toIntExact(Math.ceilDiv(n, CHUNK));
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + c);
            for (long i = (long) c * CHUNK, end = Math.min(n, i + CHUNK); i < end; i++) {
                data.setAtIndex(BF16, i, NORMAL_POOL[random.nextInt(NORMAL_POOL.length)]);
            }
        });
        return Tensor.wrap(data, DType.BF16, shape);
    }

    private static short[] normalPool(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        short[] pool = new short[1 << 20];
        for (int i = 0; i < pool.length; i++) {
            double g = Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
            pool[i] = HalfFloats.floatToBf16((float) (0.02 * g));
        }
        return pool;
    }

    /** CPU time of all threads of this process (other work in the JVM, such as GC or JIT, included). */
    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
    }

    /** A field of /proc/self/status (VmRSS: resident now, VmHWM: peak resident), in bytes. */
    private static long residentBytes(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }
}

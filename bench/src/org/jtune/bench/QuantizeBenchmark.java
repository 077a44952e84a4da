package org.jtune.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jtune.quant.Blocksizes;
import org.jtune.quant.Nf4Weight;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * NF4 quantization speed and size for one Llama-3-8B decoder layer (q, k, v, o, gate, up, down;
 * random bf16 weights). The whole model has 32 such layers. Run {@link #main} for a quick timing.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 6)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgs = {"-Xmx2g", "--enable-native-access=ALL-UNNAMED"})
public class QuantizeBenchmark {
    /** [out, in] of the seven Linears of a Llama-3-8B layer. */
    static final long[][] LAYER_SHAPES = {
        {4096, 4096}, {1024, 4096}, {1024, 4096}, {4096, 4096}, {14336, 4096}, {14336, 4096}, {4096, 14336},
    };
    static final int LAYERS = 32;

    private Arena weightsArena;
    private List<MemorySegment> weights;

    @Setup
    public void makeWeights() {
        weightsArena = Arena.ofShared();
        weights = randomLayer(weightsArena, 42);
    }

    @TearDown
    public void freeWeights() {
        weightsArena.close();
    }

    /**
     * Quantizes the layer with double quantization (as QLoRA loads it) and returns its bytes. The
     * arena is shared so that blocks are quantized on all cores.
     */
    @Benchmark
    public long quantizeLayer() {
        try (Arena arena = Arena.ofShared()) {
            return quantize(weights, arena);
        }
    }

    static long quantize(List<MemorySegment> weights, Arena arena) {
        long bytes = 0;
        for (int i = 0; i < LAYER_SHAPES.length; i++) {
            Nf4Weight w = Nf4Weight.quantize("layer." + i, weights.get(i), DType.BF16, LAYER_SHAPES[i],
                    Blocksizes.DEFAULT, true, arena);
            bytes += w.quantizedBytes();
        }
        return bytes;
    }

    /** Random normal(0, 0.02) bf16 weights for one layer. */
    static List<MemorySegment> randomLayer(Arena arena, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ValueLayout.OfShort bf16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        List<MemorySegment> layer = new ArrayList<>();
        for (long[] shape : LAYER_SHAPES) {
            long n = shape[0] * shape[1];
            MemorySegment w = arena.allocate(n * 2, 2);
            for (long i = 0; i < n; i++) {
                float g = (float) (0.02 * gaussian(random));
                w.setAtIndex(bf16, i, HalfFloats.floatToBf16(g));
            }
            layer.add(w);
        }
        return layer;
    }

    /** Box-Muller normal sample; cheaper than nextGaussian's polar loop. */
    private static double gaussian(SplittableRandom random) {
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** Times the quantization of one layer a few times and prints seconds and bytes. */
    public static void main(String[] args) {
        try (Arena weightsArena = Arena.ofShared()) {
            List<MemorySegment> layer = randomLayer(weightsArena, 42);
            long elements = 0;
            for (long[] s : LAYER_SHAPES) {
                elements += s[0] * s[1];
            }
            System.out.printf("layer: %d weights, %d bf16 bytes, %d threads in the common pool + caller%n",
                    elements, elements * 2, java.util.concurrent.ForkJoinPool.getCommonPoolParallelism());
            for (int run = 0; run < 8; run++) {
                long start = System.nanoTime();
                long bytes;
                try (Arena arena = Arena.ofShared()) {
                    bytes = quantize(layer, arena);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("run %d: %.3f s for one layer (%.1f s for %d layers), NF4+state %d bytes"
                                + " (%.3f bytes/weight), x%d layers = %.2f GiB vs bf16 %.2f GiB%n",
                        run, seconds, seconds * LAYERS, LAYERS, bytes, (double) bytes / elements, LAYERS,
                        bytes * LAYERS / 1073741824.0, elements * 2.0 * LAYERS / 1073741824.0);
            }
        }
    }
}

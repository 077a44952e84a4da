package org.jtune.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;
import org.jtune.kernels.AdamWKernels;
import org.jtune.kernels.ElementwiseKernels;
import org.jtune.kernels.EmbeddingKernels;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.Nf4Kernels;
import org.jtune.kernels.RmsNormKernels;
import org.jtune.kernels.RopeKernels;
import org.jtune.kernels.GatedActivationKernels;
import org.jtune.quant.DynamicMap;
import org.jtune.tensor.HalfFloats;

/**
 * The PTX kernels on the shapes of a Mistral-7B step with 4096 tokens (hidden 4096, intermediate
 * 14336, 32 query / 8 key-value heads of 128, LoRA r = 16 on all seven projections). Memory-bound
 * kernels report achieved TB/s, counting each byte read and each byte written once; GEMMs report
 * TFLOP/s (2 M N K per product). Each number is the median of several timed repetitions after a
 * warm-up, on random inputs.
 */
final class KernelBenchmark implements BenchMain.Benchmark {
    private static final int REPEATS = 7;
    private static final int CALLS = 20;
    private static final int WARM_UP_LAUNCHES = 20_000;
    private static final int TOKENS = 4096;
    private static final int HIDDEN = 4096;
    private static final int INTERMEDIATE = 14336;
    private static final int HEADS = 32;
    private static final int KV_HEADS = 8;
    private static final int HEAD_DIM = 128;
    private static final int VOCAB = 32000;
    private static final int LAYERS = 32;
    private static final int RANK = 16;
    /** (K, N) of the GEMMs, all with M = 4096 tokens. */
    private static final int[][] GEMM_SHAPES = {{4096, 4096}, {4096, 1024}, {4096, 14336}, {14336, 4096}};

    private final SplittableRandom random = new SplittableRandom(42);

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        Context context = Context.primary(Device.get(0));
        List<BenchRecord> out = new ArrayList<>();
        try (Stream stream = context.createStream()) {
            warmUpLaunchPath(context, stream);
            rmsnorm(context, stream, records, out);
            swiglu(context, stream, records, out);
            rope(context, stream, records, out);
            embeddingAndElementwise(context, stream, records, out);
            nf4(context, stream, records, out);
            adamw(context, stream, records, out);
            gemm(context, stream, records, out);
        }
        return out;
    }

    private void rmsnorm(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        RmsNormKernels kernels = new RmsNormKernels(context);
        long n = (long) TOKENS * HIDDEN;
        try (DeviceBuffer x = randomBf16(context, n, 1); DeviceBuffer w = randomBf16(context, HIDDEN, 1);
             DeviceBuffer y = context.allocate(2 * n); DeviceBuffer rstd = context.allocate(4L * TOKENS);
             DeviceBuffer dy = randomBf16(context, n, 1); DeviceBuffer dx = context.allocate(2 * n)) {
            String shape = TOKENS + "x" + HIDDEN;
            double forward = micros(context, stream, () -> kernels.forward(stream, y, rstd, x, w, TOKENS, HIDDEN, 1e-5f));
            out.add(terabytes(records, "rmsnorm.forward." + shape, 2 * n + 2 * HIDDEN + 2 * n + 4L * TOKENS, forward));
            double backward = micros(context, stream, () -> kernels.backward(stream, dx, dy, x, w, rstd, TOKENS, HIDDEN));
            out.add(terabytes(records, "rmsnorm.backward." + shape, 4 * n + 2 * HIDDEN + 4L * TOKENS + 2 * n, backward));
        }
    }

    private void swiglu(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        GatedActivationKernels kernels = GatedActivationKernels.swiglu(context);
        long n = (long) TOKENS * INTERMEDIATE;
        try (DeviceBuffer gate = randomBf16(context, n, 4); DeviceBuffer up = randomBf16(context, n, 4);
             DeviceBuffer h = context.allocate(2 * n); DeviceBuffer dh = randomBf16(context, n, 1)) {
            String shape = TOKENS + "x" + INTERMEDIATE;
            double forward = micros(context, stream, () -> kernels.forward(stream, h, gate, up, n));
            out.add(terabytes(records, "swiglu.forward." + shape, 6 * n, forward));
            // In place: repeated calls keep transforming the same buffers, which costs the same.
            double backward = micros(context, stream, () -> kernels.backward(stream, gate, up, dh, n));
            out.add(terabytes(records, "swiglu.backward." + shape, 10 * n, backward));
        }
    }

    private void rope(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        RopeKernels kernels = new RopeKernels(context);
        long qElements = (long) TOKENS * HEADS * HEAD_DIM;
        long kElements = (long) TOKENS * KV_HEADS * HEAD_DIM;
        int[] positions = new int[TOKENS];
        for (int t = 0; t < TOKENS; t++) {
            positions[t] = t % 2048;
        }
        float[] invFreq = new float[HEAD_DIM / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = (float) (1 / Math.pow(10_000, 2.0 * i / HEAD_DIM));
        }
        try (DeviceBuffer q = randomBf16(context, qElements, 2); DeviceBuffer k = randomBf16(context, kElements, 2);
             DeviceBuffer pos = upload(context, positions); DeviceBuffer inv = upload(context, invFreq)) {
            String shape = TOKENS + "x" + HEADS + "+" + KV_HEADS + "x" + HEAD_DIM;
            long bytes = 2 * (2 * qElements + 2 * kElements) + 4L * TOKENS + 2L * HEAD_DIM;
            double forward = micros(context, stream, () ->
                    kernels.forward(stream, q, k, pos, inv, TOKENS, HEADS, KV_HEADS, HEAD_DIM));
            out.add(terabytes(records, "rope.forward." + shape, bytes, forward));
            double backward = micros(context, stream, () ->
                    kernels.backward(stream, q, k, pos, inv, TOKENS, HEADS, KV_HEADS, HEAD_DIM));
            out.add(terabytes(records, "rope.backward." + shape, bytes, backward));
        }
    }

    private void embeddingAndElementwise(Context context, Stream stream, BenchMain.RecordMaker records,
                                         List<BenchRecord> out) {
        EmbeddingKernels embedding = new EmbeddingKernels(context);
        ElementwiseKernels elementwise = new ElementwiseKernels(context);
        long n = (long) TOKENS * HIDDEN;
        int[] ids = new int[TOKENS];
        for (int t = 0; t < TOKENS; t++) {
            ids[t] = random.nextInt(VOCAB);
        }
        String shape = TOKENS + "x" + HIDDEN;
        try (DeviceBuffer table = randomBf16(context, (long) VOCAB * HIDDEN, 1); DeviceBuffer dids = upload(context, ids);
             DeviceBuffer flag = context.allocate(EmbeddingKernels.ERROR_FLAG_BYTES);
             DeviceBuffer rows = context.allocate(2 * n)) {
            EmbeddingKernels.clearErrorFlag(stream, flag);
            double gather = micros(context, stream, () ->
                    embedding.gather(stream, rows, table, dids, flag, TOKENS, VOCAB, HIDDEN));
            EmbeddingKernels.throwIfBadIds(stream, flag, VOCAB);
            out.add(terabytes(records, "embedding.gather." + shape, 4 * n + 4L * TOKENS, gather));
        }
        try (DeviceBuffer y = randomBf16(context, n, 1); DeviceBuffer x = randomBf16(context, n, 1);
             DeviceBuffer wide = context.allocate(4 * n)) {
            double add = micros(context, stream, () -> elementwise.residualAdd(stream, y, x, n));
            out.add(terabytes(records, "residual_add." + shape, 6 * n, add));
            double toFloat = micros(context, stream, () -> elementwise.bf16ToFloat(stream, wide, x, n));
            out.add(terabytes(records, "convert.bf16_to_f32." + shape, 6 * n, toFloat));
            double toBf16 = micros(context, stream, () -> elementwise.floatToBf16(stream, y, wide, n));
            out.add(terabytes(records, "convert.f32_to_bf16." + shape, 6 * n, toBf16));
        }
    }

    private void nf4(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        Nf4Kernels kernels = new Nf4Kernels(context);
        long n = (long) INTERMEDIATE * HIDDEN;
        int blocks = (int) (n / 64);
        int nested = (blocks + 255) / 256;
        float[] nestedAbsmax = new float[nested];
        for (int i = 0; i < nested; i++) {
            nestedAbsmax[i] = (float) random.nextDouble(0.01, 0.1);
        }
        try (DeviceBuffer packed = randomBytes(context, n / 2); DeviceBuffer qabs = randomBytes(context, blocks);
             DeviceBuffer map = upload(context, DynamicMap.table()); DeviceBuffer nestedBuffer = upload(context, nestedAbsmax);
             DeviceBuffer weight = context.allocate(2 * n)) {
            double micros = micros(context, stream, () -> kernels.dequantizeDoubleQuant(stream, weight, packed, qabs, map,
                    nestedBuffer, 0.05f, n, 64, 256));
            out.add(terabytes(records, "nf4.dequantize_double_quant." + INTERMEDIATE + "x" + HIDDEN,
                    n / 2 + blocks + 4L * nested + 2 * n, micros));
        }
    }

    private void adamw(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        AdamWKernels kernels = new AdamWKernels(context);
        // LoRA A [r, in] and B [out, r] of q, k, v, o, gate, up, down in every layer.
        long[][] projections = {{HIDDEN, HIDDEN}, {KV_HEADS * HEAD_DIM, HIDDEN}, {KV_HEADS * HEAD_DIM, HIDDEN},
            {HIDDEN, HIDDEN}, {INTERMEDIATE, HIDDEN}, {INTERMEDIATE, HIDDEN}, {HIDDEN, INTERMEDIATE}};
        List<Long> counts = new ArrayList<>();
        for (int layer = 0; layer < LAYERS; layer++) {
            for (long[] p : projections) {
                counts.add((long) RANK * p[1]);
                counts.add(p[0] * RANK);
            }
        }
        List<DeviceBuffer> buffers = new ArrayList<>();
        List<AdamWKernels.Tensor> tensors = new ArrayList<>();
        long total = 0;
        try {
            for (long count : counts) {
                DeviceBuffer[] four = new DeviceBuffer[4];
                for (int i = 0; i < 4; i++) {
                    four[i] = context.allocate(4 * count);
                    buffers.add(four[i]);
                    four[i].fillWordsAsync(Float.floatToRawIntBits(i == 3 ? 1e-6f : 1e-3f), stream);
                }
                tensors.add(new AdamWKernels.Tensor(four[0], four[1], four[2], four[3], count));
                total += count;
            }
            AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(2e-4, 0.9, 0.999, 1e-8, 0.01);
            try (AdamWKernels.TensorTable table = AdamWKernels.table(context, tensors);
                 DeviceBuffer norm = context.allocate(8)) {
                String shape = "mistral7b_lora_r" + RANK + "_" + tensors.size() + "_tensors";
                double gradNorm = micros(context, stream, () -> kernels.gradNorm(stream, table, norm, 1f));
                out.add(terabytes(records, "grad_norm." + shape, 4 * total, gradNorm));
                double step = micros(context, stream, () ->
                        kernels.step(stream, table, AdamWKernels.clipScaleAddress(norm), hyper, 10));
                out.add(terabytes(records, "adamw.step." + shape, 28 * total, step));
            }
        } finally {
            buffers.forEach(DeviceBuffer::close);
        }
    }

    private void gemm(Context context, Stream stream, BenchMain.RecordMaker records, List<BenchRecord> out) {
        GemmKernels gemm = new GemmKernels(context);
        for (int[] kn : GEMM_SHAPES) {
            int k = kn[0];
            int n = kn[1];
            long m = TOKENS;
            String shape = "m" + m + "_k" + k + "_n" + n;
            double flop = 2.0 * m * n * k;
            // Y[m, n] = X[m, k] . W[n, k]^T ; dX[m, k] = dY[m, n] . W[n, k] ; dW[n, k] = dY^T . X
            try (DeviceBuffer x = randomBf16(context, m * k, 1); DeviceBuffer w = randomBf16(context, (long) n * k, 1);
                 DeviceBuffer y = context.allocate(2 * m * n); DeviceBuffer dy = randomBf16(context, m * n, 1);
                 DeviceBuffer dx = context.allocate(2 * m * k); DeviceBuffer dw = context.allocate(2L * n * k)) {
                double forward = micros(context, stream, () ->
                        gemm.forward(stream, y, GemmKernels.Store.BF16, x, w, TOKENS, n, k, 1f));
                out.add(records.make("gemm.forward." + shape, flop / (forward * 1e6), "TFLOP/s", true));
                double backward = micros(context, stream, () ->
                        gemm.backwardInput(stream, dx, GemmKernels.Store.BF16, dy, w, TOKENS, n, k, 1f));
                out.add(records.make("gemm.backward_input." + shape, flop / (backward * 1e6), "TFLOP/s", true));
                double weight = micros(context, stream, () ->
                        gemm.weightGradient(stream, dw, GemmKernels.Store.BF16, dy, x, TOKENS, n, k, 1f));
                out.add(records.make("gemm.weight_gradient." + shape, flop / (weight * 1e6), "TFLOP/s", true));
            }
        }
    }

    private static BenchRecord terabytes(BenchMain.RecordMaker records, String name, long bytes, double micros) {
        return records.make(name, bytes / (micros * 1e6), "TB/s", true);
    }

    /**
     * Launches a tiny kernel many times, untimed, so that the Java launch path (argument marshalling,
     * the FFM downcall) is compiled before the first measurement: interpreted, it enqueues more slowly
     * than short kernels run, and the first numbers would measure the host.
     */
    private static void warmUpLaunchPath(Context context, Stream stream) {
        Kernel fill = context.module("fill").kernel("fill_f32");
        try (DeviceBuffer tiny = context.allocate(256)) {
            for (int i = 0; i < WARM_UP_LAUNCHES; i++) {
                fill.launch(stream, LaunchShape.of(1, 32), tiny, 1L, 0f);
            }
            stream.synchronize();
        }
    }

    /** Median device microseconds of one call of {@code work}, timed over {@value #CALLS} back-to-back calls. */
    private static double micros(Context context, Stream stream, Runnable work) {
        work.run();
        stream.synchronize();
        double[] perCall = new double[REPEATS];
        double[] hostPerCall = new double[REPEATS];
        try (Event start = new Event(context); Event end = new Event(context)) {
            for (int r = 0; r < REPEATS; r++) {
                start.record(stream);
                long t0 = System.nanoTime();
                for (int i = 0; i < CALLS; i++) {
                    work.run();
                }
                hostPerCall[r] = (System.nanoTime() - t0) / 1000.0 / CALLS;
                end.record(stream);
                perCall[r] = Event.elapsedMillis(start, end) * 1000.0 / CALLS;
            }
        }
        Arrays.sort(perCall);
        Arrays.sort(hostPerCall);
        double device = perCall[REPEATS / 2];
        double host = hostPerCall[REPEATS / 2];
        if (host > 0.9 * device) {
            // The GPU waited for launches: the number is an upper bound of the kernel's time.
            System.err.printf("warning: host-bound measurement, enqueueing took %.1f us of the %.1f us per call%n",
                    host, device);
        }
        return device;
    }

    /** Uniform values in [-scale, scale) rounded to bf16. */
    private DeviceBuffer randomBf16(Context context, long elements, double scale) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 2 * elements));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * elements, 16);
            for (long i = 0; i < elements; i++) {
                host.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i,
                        HalfFloats.floatToBf16((float) ((random.nextDouble() * 2 - 1) * scale)));
            }
            buffer.copyFromHost(host);
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
        return buffer;
    }

    private DeviceBuffer randomBytes(Context context, long bytes) {
        DeviceBuffer buffer = context.allocate(Math.max(16, bytes));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(bytes, 16);
            for (long i = 0; i < bytes; i += 8) {
                long value = random.nextLong();
                for (long j = i; j < Math.min(bytes, i + 8); j++) {
                    host.set(ValueLayout.JAVA_BYTE, j, (byte) (value >>> (8 * (j - i))));
                }
            }
            buffer.copyFromHost(host);
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
        return buffer;
    }

    private static DeviceBuffer upload(Context context, int[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
        return buffer;
    }

    private static DeviceBuffer upload(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
        return buffer;
    }
}

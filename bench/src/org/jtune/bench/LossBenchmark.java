package org.jtune.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.Stream;
import org.jtune.kernels.FusedCrossEntropy;
import org.jtune.kernels.GemmKernels;
import org.jtune.kernels.GemmLogits;
import org.jtune.tensor.HalfFloats;

/**
 * The fused chunked LM-head loss (logits, cross-entropy and dH a chunk of tokens at a time, through the tensor-core
 * GEMM) at a Llama-3 head (vocabulary 128,256, hidden size 4096, bf16) over 4,096 and 32,768 tokens: milliseconds
 * for loss and dH, and the device memory the call needs beyond its inputs (logits workspace, row losses, loss and
 * dH), from the chunk choice and as the driver's free memory drop around the allocations and the call.
 * bench/peer/loss_peer.py measures torch's F.linear + F.cross_entropy (logits upcast to float32, as HF does) and
 * its peak extra memory the same way. Times are the median of several repetitions after a warm-up.
 */
final class LossBenchmark implements BenchMain.Benchmark {
    private static final int REPEATS = 5;
    private static final int VOCAB = 128_256;
    private static final int DIM = 4096;
    private static final int[] TOKENS = {4096, 32_768};
    /** Logits workspace budget: 1,024 rows of the vocabulary, enough rows for the GEMM to fill the GPU. */
    private static final long LOGITS_BUDGET = 256L << 20;
    private static final double MIB = 1 << 20;

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        Context context = Context.primary(Device.get(0));
        FusedCrossEntropy loss = new FusedCrossEntropy(context, new GemmLogits(new GemmKernels(context)));
        SplittableRandom random = new SplittableRandom(7);
        List<BenchRecord> out = new ArrayList<>();
        try (Stream stream = context.createStream();
             DeviceBuffer weight = randomBf16(context, random, (long) VOCAB * DIM, 0.02f)) {
            for (int tokens : TOKENS) {
                int[] targets = new int[tokens];
                for (int t = 0; t < tokens; t++) {
                    targets[t] = random.nextInt(VOCAB);
                }
                int chunk = FusedCrossEntropy.chunkRows(LOGITS_BUDGET, VOCAB, tokens);
                long logitsBytes = FusedCrossEntropy.logitsBytes(chunk, VOCAB);
                long extraBytes = logitsBytes + 4L * tokens + 16 + 2L * tokens * DIM;
                try (DeviceBuffer hidden = randomBf16(context, random, (long) tokens * DIM, 1f);
                     DeviceBuffer targetBuffer = BenchUtil.upload(context, targets)) {
                    long freeBefore = context.memoryInfo().free();
                    try (DeviceBuffer logits = context.allocate(logitsBytes);
                         DeviceBuffer rowLoss = context.allocate(4L * tokens);
                         DeviceBuffer lossValue = context.allocate(16);
                         DeviceBuffer dHidden = context.allocate(2L * tokens * DIM)) {
                        FusedCrossEntropy.Operands operands = new FusedCrossEntropy.Operands(hidden, weight,
                                targetBuffer, tokens, DIM, VOCAB, logits, rowLoss);
                        Runnable call = () -> loss.run(stream, operands, tokens, lossValue, dHidden);
                        double[] ms = new double[REPEATS];
                        for (int r = 0; r < REPEATS; r++) {
                            ms[r] = millis(context, stream, call);
                        }
                        long driverExtra = freeBefore - context.memoryInfo().free();
                        String prefix = String.format("loss.t%d_v%d_d%d.", tokens, VOCAB, DIM);
                        out.add(records.make(prefix + "ms", BenchUtil.median(ms), "ms", false));
                        out.add(records.make(prefix + "extra.mib", extraBytes / MIB, "MiB", false));
                        out.add(records.make(prefix + "extra_driver.mib", driverExtra / MIB, "MiB", false));
                        out.add(records.make(prefix + "chunk_rows", chunk, "rows", true));
                    }
                }
            }
        }
        return out;
    }

    /** Device milliseconds of one run of {@code work}, after one warm-up run. */
    private static double millis(Context context, Stream stream, Runnable work) {
        work.run();
        stream.synchronize();
        try (Event start = new Event(context); Event end = new Event(context)) {
            start.record(stream);
            work.run();
            end.record(stream);
            return Event.elapsedMillis(start, end);
        }
    }

    /** Uniform values in [-range, range), rounded to bf16. */
    private static DeviceBuffer randomBf16(Context context, SplittableRandom random, long count, float range) {
        DeviceBuffer buffer = context.allocate(2 * count);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * count, 16);
            for (long i = 0; i < count; i++) {
                float value = range * (float) (random.nextInt() * 0x1p-31);
                host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBf16(value));
            }
            buffer.copyFromHost(host);
        }
        return buffer;
    }

}

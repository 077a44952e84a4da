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
import org.jtune.kernels.FlashAttention;
import org.jtune.tensor.HalfFloats;

/**
 * Causal GQA flash attention (bf16) forward, backward and both: Llama-3-8B's heads (32 query and 8 kv heads of
 * dimension 128) at batch 2 x 2048 and 1 x 16384 tokens, and the forward alone at Gemma-3-12B's heads (16 and 8 of
 * dimension 256, score scale 1/sqrt(query_pre_attn_scalar 256); the backward has no kernel for dimension 256) at
 * batch 2 x 2048: milliseconds and TFLOP/s counting only the causal (visible) score pairs, as
 * bench/peer/attention_peer.py does for torch's scaled_dot_product_attention.
 * Each number is the median of several timed repetitions after a warm-up.
 */
final class AttentionBenchmark implements BenchMain.Benchmark {
    private static final int REPEATS = 7;
    /** One measured shape; {@code backward} false times the forward alone. */
    private record Shape(int batch, int seqLen, int heads, int kvHeads, int headDim, boolean backward) {}

    private static final List<Shape> SHAPES = List.of(new Shape(2, 2048, 32, 8, 128, true),
            new Shape(1, 16384, 32, 8, 128, true), new Shape(2, 2048, 16, 8, 256, false));

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        Context context = Context.primary(Device.get(0));
        FlashAttention attention = new FlashAttention(context);
        List<BenchRecord> out = new ArrayList<>();
        for (Shape shape : SHAPES) {
            int batch = shape.batch(), seqLen = shape.seqLen(), tokens = batch * seqLen;
            int headCount = shape.heads(), headDim = shape.headDim();
            FlashAttention.Heads heads = new FlashAttention.Heads(headCount, shape.kvHeads(), headDim, 0);
            int[] offsets = new int[batch + 1];
            for (int b = 0; b <= batch; b++) {
                offsets[b] = b * seqLen;
            }
            FlashAttention.Documents documents = new FlashAttention.Documents(offsets);
            long qElements = (long) tokens * headCount * headDim;
            long kvElements = (long) tokens * shape.kvHeads() * headDim;
            SplittableRandom random = new SplittableRandom(seqLen);
            long workspaceBytes = shape.backward() ? FlashAttention.backwardWorkspaceBytes(heads, tokens) : 16;
            try (Stream stream = context.createStream();
                 DeviceBuffer cu = BenchUtil.upload(context, offsets);
                 DeviceBuffer q = randomBf16(context, random, qElements);
                 DeviceBuffer k = randomBf16(context, random, kvElements);
                 DeviceBuffer v = randomBf16(context, random, kvElements);
                 DeviceBuffer dOut = randomBf16(context, random, qElements);
                 DeviceBuffer o = context.allocate(2 * qElements);
                 DeviceBuffer lse = context.allocate(4L * tokens * headCount);
                 DeviceBuffer workspace = context.allocate(workspaceBytes);
                 DeviceBuffer dQ = context.allocate(2 * qElements);
                 DeviceBuffer dK = context.allocate(2 * kvElements);
                 DeviceBuffer dV = context.allocate(2 * kvElements)) {
                Runnable forward = () -> attention.forward(stream, heads, documents, cu, q, k, v, o, lse);
                Runnable backward = () -> attention.backward(stream, heads, documents, cu, q, k, v, o, lse, dOut,
                        workspace, dQ, dK, dV);
                double[] fwd = new double[REPEATS];
                double[] bwd = new double[REPEATS];
                for (int r = 0; r < REPEATS; r++) {
                    fwd[r] = millis(context, stream, forward);
                    if (shape.backward()) {
                        bwd[r] = millis(context, stream, backward);
                    }
                }
                // Causal forward FLOPs: two products (q·kᵀ and p·v) of 2 * d each per visible (query, key) pair.
                double pairs = (double) batch * headCount * seqLen * (seqLen + 1) / 2.0;
                double forwardFlops = 4.0 * headDim * pairs;
                // The backward has five such products (s, dP, dV, dK, dQ) against the forward's two.
                double backwardFlops = 2.5 * forwardFlops;
                String prefix = String.format("attention.b%d_t%d_h%d_kv%d_d%d.", batch, seqLen, headCount,
                        shape.kvHeads(), headDim);
                double fwdMs = BenchUtil.median(fwd);
                out.add(records.make(prefix + "fwd.ms", fwdMs, "ms", false));
                out.add(records.make(prefix + "fwd.tflops", forwardFlops / (fwdMs * 1e9), "TFLOP/s", true));
                if (shape.backward()) {
                    double bwdMs = BenchUtil.median(bwd);
                    out.add(records.make(prefix + "bwd.ms", bwdMs, "ms", false));
                    out.add(records.make(prefix + "fwd_bwd.ms", fwdMs + bwdMs, "ms", false));
                    out.add(records.make(prefix + "bwd.tflops", backwardFlops / (bwdMs * 1e9), "TFLOP/s", true));
                    out.add(records.make(prefix + "fwd_bwd.tflops", (forwardFlops + backwardFlops)
                            / ((fwdMs + bwdMs) * 1e9), "TFLOP/s", true));
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

    private static DeviceBuffer randomBf16(Context context, SplittableRandom random, long count) {
        DeviceBuffer buffer = context.allocate(2 * count);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * count, 16);
            for (long i = 0; i < count; i++) {
                host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBf16((float) random.nextDouble(-1, 1)));
            }
            buffer.copyFromHost(host);
        }
        return buffer;
    }

}

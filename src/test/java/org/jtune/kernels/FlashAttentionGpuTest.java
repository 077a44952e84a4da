package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.model.AttentionShape;
import org.jtune.model.cpu.CpuOps;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The attention kernels (forward, and backward from the reference's saved output and lse) against {@link CpuOps}
 * (double accumulation) on fresh random bf16 inputs: several sequence
 * lengths (tile multiples and not), GQA ratios 1, 4 and 8, windows shorter and longer than the documents, batch
 * rows packed with 1 to 5 documents, head dimensions 64 and 128. Outputs are poisoned with NaN first and every
 * element is checked.
 */
@GpuTest
class FlashAttentionGpuTest {
    /** bf16 output: its own rounding (up to 2^-8 relative) plus the bf16 rounding of the probabilities in P·V. */
    private static final double OUT_RTOL = 1e-2, OUT_ATOL = 4e-3;
    /** float32 statistics from bf16-exact products; ex2/lg2 approximations add a few float ulps. */
    private static final double LSE_TOL = 1e-3;
    /** Gradients: relative to the element, and to the tensor's largest element (see assertGradientClose). */
    private static final double GRAD_RTOL = 2e-2, GRAD_ATOL = 1e-2, GRAD_SCALE_FLOOR = 1e-3;

    /** Random inputs of one case, rounded to bf16, with the document layout in both forms. */
    private record Case(AttentionShape shape, FlashAttention.Heads heads, FlashAttention.Documents documents,
                        int[] docIds, float[] q, float[] k, float[] v, String description) {

        static Case random(int batch, int seqLen, int heads, int kvHeads, int headDim, int window, int docsPerRow,
                           int queryPreAttnScalar, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            float scale = (float) (1.0 / Math.sqrt(queryPreAttnScalar > 0 ? queryPreAttnScalar : headDim));
            AttentionShape shape = new AttentionShape(batch, seqLen, heads, kvHeads, headDim, window, scale);
            int tokens = shape.tokens();
            int[] docIds = new int[tokens];
            int[] offsets = new int[batch * docsPerRow + 1];
            int documents = 0;
            for (int b = 0; b < batch; b++) {
                // docsPerRow - 1 distinct cut points inside the row (fewer if the row is too short).
                int cutCount = Math.min(docsPerRow - 1, seqLen - 1);
                int[] cuts = cutCount == 0 ? new int[0]
                        : random.ints(1, seqLen).distinct().limit(cutCount).sorted().toArray();
                int from = b * seqLen;
                for (int cut : cuts) {
                    Arrays.fill(docIds, from, b * seqLen + cut, documents);
                    offsets[++documents] = b * seqLen + cut;
                    from = b * seqLen + cut;
                }
                Arrays.fill(docIds, from, (b + 1) * seqLen, documents);
                offsets[++documents] = (b + 1) * seqLen;
            }
            // Queries larger than keys make the softmax peaked as well as flat in places.
            float[] q = bf16Random(random, tokens * heads * headDim, 3);
            float[] k = bf16Random(random, tokens * kvHeads * headDim, 1);
            float[] v = bf16Random(random, tokens * kvHeads * headDim, 1);
            String description = String.format("batch %d x %d tokens, %d/%d heads, d %d, window %d, scale %s,"
                    + " documents %s, seed %d", batch, seqLen, heads, kvHeads, headDim, window, scale,
                    Arrays.toString(Arrays.copyOf(offsets, documents + 1)), seed);
            return new Case(shape, new FlashAttention.Heads(heads, kvHeads, headDim, window, scale),
                    new FlashAttention.Documents(Arrays.copyOf(offsets, documents + 1)), docIds, q, k, v, description);
        }
    }

    @ParameterizedTest
    @CsvSource({
        // batch, seqLen, heads, kvHeads, headDim, window, documents per row, query_pre_attn_scalar (0: 1/sqrt(d))
        "1, 1, 1, 1, 64, 0, 1, 0",
        "1, 100, 4, 4, 64, 0, 1, 0",
        "2, 130, 8, 2, 128, 0, 1, 0",
        "1, 257, 8, 1, 64, 0, 3, 0",
        "2, 200, 4, 1, 128, 37, 2, 0",
        "1, 150, 4, 2, 64, 1000, 5, 0",
        "3, 64, 2, 2, 128, 64, 4, 0",
        "1, 191, 4, 4, 128, 1, 2, 0",
        "2, 128, 8, 8, 64, 100, 1, 0",
        "1, 700, 8, 1, 128, 0, 1, 0",
        "1, 1000, 4, 1, 64, 300, 2, 0",
        "1, 2048, 2, 1, 128, 0, 1, 0",
        "2, 300, 4, 2, 128, 0, 2, 168",
        "1, 400, 8, 2, 64, 100, 1, 256",
        "1, 1, 1, 1, 256, 0, 1, 0",
        "2, 300, 8, 4, 256, 0, 2, 256",
        "1, 700, 4, 1, 256, 100, 1, 168",
        "3, 129, 2, 2, 256, 31, 3, 0",
        "1, 1500, 2, 1, 256, 1024, 1, 256",
    })
    void forwardMatchesCpuReference(int batch, int seqLen, int heads, int kvHeads, int headDim, int window,
                                    int docsPerRow, int queryPreAttnScalar) {
        long seed = System.nanoTime();
        Case c = Case.random(batch, seqLen, heads, kvHeads, headDim, window, docsPerRow, queryPreAttnScalar,
                seed);
        int tokens = c.shape().tokens();
        float[] expectedOut = new float[tokens * heads * headDim];
        float[] expectedLse = new float[tokens * heads];
        try (Arena arena = Arena.ofShared()) {
            Tensor out = Tensor.f32(arena, tokens, (long) heads * headDim);
            Tensor lse = Tensor.f32(arena, tokens, heads);
            new CpuOps().attention(Tensor.of(arena, c.q(), tokens, (long) heads * headDim),
                    Tensor.of(arena, c.k(), tokens, (long) kvHeads * headDim),
                    Tensor.of(arena, c.v(), tokens, (long) kvHeads * headDim),
                    Tensor.ofInts(arena, c.docIds()), c.shape(), out, lse);
            System.arraycopy(out.toFloatArray(), 0, expectedOut, 0, expectedOut.length);
            System.arraycopy(lse.toFloatArray(), 0, expectedLse, 0, expectedLse.length);
        }

        Context context = Context.primary(Device.get(0));
        FlashAttention attention = new FlashAttention(context);
        try (Stream stream = context.createStream();
             DeviceBuffer cu = uploadInts(context, c.documents().offsets());
             DeviceBuffer q = uploadBf16(context, c.q());
             DeviceBuffer k = uploadBf16(context, c.k());
             DeviceBuffer v = uploadBf16(context, c.v());
             DeviceBuffer out = context.allocate(2L * expectedOut.length);
             DeviceBuffer lse = context.allocate(4L * expectedLse.length)) {
            out.fillBytesAsync(0xFF, stream);
            lse.fillBytesAsync(0xFF, stream);
            attention.forward(stream, c.heads(), c.documents(), cu, q, k, v, out, lse);
            stream.synchronize();
            assertClose("output", c, expectedOut, downloadBf16(out, expectedOut.length), heads * headDim,
                    OUT_RTOL, OUT_ATOL);
            assertClose("log-sum-exp", c, expectedLse, downloadFloats(lse, expectedLse.length), heads,
                    LSE_TOL, LSE_TOL);
        }
    }

    @ParameterizedTest
    @CsvSource({
        // batch, seqLen, heads, kvHeads, headDim, window, documents per row, query_pre_attn_scalar (0: 1/sqrt(d))
        "1, 1, 1, 1, 64, 0, 1, 0",
        "1, 100, 4, 4, 64, 0, 1, 0",
        "2, 130, 8, 2, 128, 0, 1, 0",
        "1, 257, 8, 1, 64, 0, 3, 0",
        "2, 200, 4, 1, 128, 37, 2, 0",
        "1, 150, 4, 2, 64, 1000, 5, 0",
        "3, 64, 2, 2, 128, 64, 4, 0",
        "1, 191, 4, 4, 128, 1, 2, 0",
        "1, 600, 8, 1, 128, 0, 1, 0",
        "1, 500, 4, 1, 64, 150, 2, 0",
        "1, 1100, 2, 1, 64, 0, 1, 0",
        "2, 300, 4, 2, 128, 0, 2, 168",
        "1, 400, 8, 2, 64, 100, 1, 256",
    })
    void backwardMatchesCpuReference(int batch, int seqLen, int heads, int kvHeads, int headDim, int window,
                                     int docsPerRow, int queryPreAttnScalar) {
        long seed = System.nanoTime();
        Case c = Case.random(batch, seqLen, heads, kvHeads, headDim, window, docsPerRow, queryPreAttnScalar,
                seed);
        int tokens = c.shape().tokens();
        long qWidth = (long) heads * headDim, kvWidth = (long) kvHeads * headDim;
        float[] dOut = bf16Random(new SplittableRandom(seed + 1), c.q().length, 1);
        float[] out, lse, expectedDq, expectedDk, expectedDv;
        try (Arena arena = Arena.ofShared()) {
            CpuOps ops = new CpuOps();
            Tensor q = Tensor.of(arena, c.q(), tokens, qWidth);
            Tensor k = Tensor.of(arena, c.k(), tokens, kvWidth);
            Tensor v = Tensor.of(arena, c.v(), tokens, kvWidth);
            Tensor docIds = Tensor.ofInts(arena, c.docIds());
            Tensor outTensor = Tensor.f32(arena, tokens, qWidth);
            Tensor lseTensor = Tensor.f32(arena, tokens, heads);
            ops.attention(q, k, v, docIds, c.shape(), outTensor, lseTensor);
            // Both sides get the same saved forward state: the output as the GPU stores it (bf16) and the lse.
            out = bf16Round(outTensor.toFloatArray());
            lse = lseTensor.toFloatArray();
            Tensor dQ = Tensor.f32(arena, tokens, qWidth);
            Tensor dK = Tensor.f32(arena, tokens, kvWidth);
            Tensor dV = Tensor.f32(arena, tokens, kvWidth);
            ops.attentionBackward(q, k, v, Tensor.of(arena, out, tokens, qWidth), Tensor.of(arena, dOut, tokens, qWidth),
                    lseTensor, docIds, c.shape(), dQ, dK, dV);
            expectedDq = dQ.toFloatArray();
            expectedDk = dK.toFloatArray();
            expectedDv = dV.toFloatArray();
        }

        Context context = Context.primary(Device.get(0));
        FlashAttention attention = new FlashAttention(context);
        try (Stream stream = context.createStream();
             DeviceBuffer cu = uploadInts(context, c.documents().offsets());
             DeviceBuffer q = uploadBf16(context, c.q());
             DeviceBuffer k = uploadBf16(context, c.k());
             DeviceBuffer v = uploadBf16(context, c.v());
             DeviceBuffer outBuffer = uploadBf16(context, out);
             DeviceBuffer lseBuffer = uploadFloats(context, lse);
             DeviceBuffer dOutBuffer = uploadBf16(context, dOut);
             DeviceBuffer workspace = context.allocate(FlashAttention.backwardWorkspaceBytes(c.heads(), tokens));
             DeviceBuffer dQ = context.allocate(2L * expectedDq.length);
             DeviceBuffer dK = context.allocate(2L * expectedDk.length);
             DeviceBuffer dV = context.allocate(2L * expectedDv.length)) {
            for (DeviceBuffer b : new DeviceBuffer[] {workspace, dQ, dK, dV}) {
                b.fillBytesAsync(0xFF, stream);
            }
            attention.backward(stream, c.heads(), c.documents(), cu, q, k, v, outBuffer, lseBuffer, dOutBuffer,
                    workspace, dQ, dK, dV);
            stream.synchronize();
            assertGradientClose("dQ", c, expectedDq, downloadBf16(dQ, expectedDq.length), heads * headDim);
            assertGradientClose("dK", c, expectedDk, downloadBf16(dK, expectedDk.length), kvHeads * headDim);
            assertGradientClose("dV", c, expectedDv, downloadBf16(dV, expectedDv.length), kvHeads * headDim);
        }
    }

    @Test
    void buffersTooSmallForTheShapeAreRefused() {
        Context context = Context.primary(Device.get(0));
        FlashAttention attention = new FlashAttention(context);
        FlashAttention.Heads heads = new FlashAttention.Heads(4, 2, 64, 0);
        FlashAttention.Documents documents = new FlashAttention.Documents(new int[] {0, 10, 30});
        long q = 2L * 30 * 4 * 64, kv = 2L * 30 * 2 * 64;
        try (Stream stream = context.createStream();
             DeviceBuffer cu = uploadInts(context, documents.offsets());
             DeviceBuffer qBuffer = context.allocate(q);
             DeviceBuffer kBuffer = context.allocate(kv);
             DeviceBuffer shortV = context.allocate(kv - 2);
             DeviceBuffer out = context.allocate(q);
             DeviceBuffer lse = context.allocate(4L * 30 * 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> attention.forward(stream, heads, documents, cu, qBuffer, kBuffer, shortV, out, lse));
            assertTrue(e.getMessage().contains("v: device buffer of " + (kv - 2) + " bytes, needs " + kv),
                    e.getMessage());
        }
    }

    /**
     * bf16 gradients from bf16 probabilities and dS: each element within a few bf16 roundings of the terms that
     * make it, measured against the largest gradient element of the tensor, plus its own rounding. The floor on
     * that scale covers gradients that cancel to zero (with a window of 1, dS = P (dP - delta) is exactly 0 and
     * only float32 rounding remains).
     */
    private static void assertGradientClose(String what, Case c, float[] expected, float[] actual, int rowLength) {
        double largest = GRAD_SCALE_FLOOR;
        for (float e : expected) {
            largest = Math.max(largest, Math.abs(e));
        }
        assertClose(what, c, expected, actual, rowLength, GRAD_RTOL, GRAD_ATOL * largest);
    }

    private static void assertClose(String what, Case c, float[] expected, float[] actual, int rowLength,
                                    double rtol, double atol) {
        for (int i = 0; i < expected.length; i++) {
            double bound = atol + rtol * Math.abs(expected[i]);
            int index = i;
            assertTrue(Math.abs(actual[i] - expected[i]) <= bound, () -> what + " at token " + index / rowLength
                    + ", column " + index % rowLength + ": got " + actual[index] + ", expected " + expected[index]
                    + " within " + bound + " (" + c.description() + ")");
        }
    }

    static float[] bf16Random(SplittableRandom random, int n, double magnitude) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) (random.nextDouble(-1, 1) * magnitude)));
        }
        return values;
    }

    static DeviceBuffer uploadBf16(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 2L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2L * values.length, 16);
            for (int i = 0; i < values.length; i++) {
                host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBf16(values[i]));
            }
            buffer.copyFromHost(host);
        }
        return buffer;
    }

    static float[] bf16Round(float[] values) {
        float[] rounded = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            rounded[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
        }
        return rounded;
    }

    static DeviceBuffer uploadFloats(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
        return buffer;
    }

    static DeviceBuffer uploadInts(Context context, int[] values) {
        DeviceBuffer buffer = context.allocate(4L * values.length);
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
        return buffer;
    }

    static float[] downloadBf16(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2L * n, 16);
            buffer.copyToHost(host);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = HalfFloats.bf16ToFloat(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
            }
            return values;
        }
    }

    static float[] downloadFloats(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * n, 16);
            buffer.copyToHost(host);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}

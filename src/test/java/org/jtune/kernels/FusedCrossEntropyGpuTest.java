package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.jtune.bindings.CudaDriver;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.model.cpu.CpuOps;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chunked cross-entropy against {@link CpuOps#crossEntropy} on fresh random bf16 hidden states and LM heads,
 * vocabularies of 32,000 and 128,256, several chunk sizes, rows ignored with -100 (some chunks entirely), with two
 * LM-head GEMMs: one on the host in double precision (rounded to bf16 as a GPU GEMM stores them), which checks the
 * kernels on their own, and the tensor-core GEMM through {@link GemmLogits}. Every logits chunk the GEMM produced
 * is checked against the double product within bf16 rounding, then every row loss and every logit gradient element
 * (seen by the second GEMM) against the CPU reference on those logits, and every dH element.
 */
@GpuTest
class FusedCrossEntropyGpuTest {
    /** float32 log-sum-exp over the vocabulary with ex2/lg2 approximations. */
    private static final double LOSS_TOL = 1e-4;
    /** bf16 rounding of each gradient element (up to 2^-8 relative) and float32 error of the probabilities. */
    private static final double DLOGITS_RTOL = 5e-3, DLOGITS_ATOL = 1e-9;
    /** dH from bf16 logit gradients: relative to the element and to the row's largest element. */
    private static final double DH_RTOL = 2e-2, DH_ATOL = 1e-2;
    /** A bf16 logit: rounded to 8 significant bits (half an ulp is 2^-9 of it; 2^-8 leaves room). */
    private static final double LOGIT_RTOL = 0x1p-8;
    /** Float32 accumulation: each of the k partial sums rounds by at most 2^-24 of the sum of magnitudes. */
    private static final double F32_EPS = 0x1p-24;

    @ParameterizedTest
    @CsvSource({
        // tokens, dim, vocab, chunk rows (budget), ignored fraction, GEMM on tensor cores (else on the host)
        "200, 128, 32000, 128, 0.3, false",
        "130, 64, 32000, 1000, 0.0, false",
        "37, 128, 128256, 16, 0.5, false",
        "20, 64, 128256, 7, 0.9, false",
        "200, 128, 32000, 128, 0.3, true",
        "300, 256, 32000, 256, 0.2, true",
        "37, 128, 128256, 16, 0.5, true",
        "20, 64, 128256, 7, 0.9, true",
    })
    void lossAndGradientsMatchCpuReference(int tokens, int dim, int vocab, int budgetRows, double ignoredFraction,
                                           boolean tensorCoreGemm) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] hidden = FlashAttentionGpuTest.bf16Random(random, tokens * dim, 2);
        float[] weight = FlashAttentionGpuTest.bf16Random(random, vocab * dim, 1);
        int[] targets = new int[tokens];
        int counted = 0;
        for (int t = 0; t < tokens; t++) {
            boolean ignored = random.nextDouble() < ignoredFraction;
            targets[t] = ignored ? FusedCrossEntropy.IGNORE_INDEX : random.nextInt(vocab);
            counted += ignored ? 0 : 1;
        }
        // The first chunk is entirely ignored where the chunk is small enough.
        int chunk = FusedCrossEntropy.chunkRows(FusedCrossEntropy.logitsBytes(budgetRows, vocab), vocab, tokens);
        if (chunk < tokens / 2) {
            for (int t = 0; t < chunk; t++) {
                counted -= targets[t] == FusedCrossEntropy.IGNORE_INDEX ? 0 : 1;
                targets[t] = FusedCrossEntropy.IGNORE_INDEX;
            }
        }
        if (counted == 0) {
            targets[tokens - 1] = 0;
            counted = 1;
        }
        String description = String.format("%s GEMM, %d tokens, dim %d, vocab %d, chunk %d, %d counted, seed %d",
                tensorCoreGemm ? "tensor-core" : "host", tokens, dim, vocab, chunk, counted, seed);

        Context context = Context.primary(Device.get(0));
        RecordingGemm gemm = new RecordingGemm(context, tensorCoreGemm ? new GemmLogits(new GemmKernels(context))
                : new HostGemm(context));
        FusedCrossEntropy crossEntropy = new FusedCrossEntropy(context, gemm);
        try (Stream stream = context.createStream();
             DeviceBuffer hiddenBuffer = FlashAttentionGpuTest.uploadBf16(context, hidden);
             DeviceBuffer weightBuffer = FlashAttentionGpuTest.uploadBf16(context, weight);
             DeviceBuffer targetBuffer = FlashAttentionGpuTest.uploadInts(context, targets);
             DeviceBuffer logitBuffer = context.allocate(FusedCrossEntropy.logitsBytes(chunk, vocab));
             DeviceBuffer rowLoss = context.allocate(4L * tokens);
             DeviceBuffer loss = context.allocate(16);
             DeviceBuffer dHidden = context.allocate(2L * tokens * dim)) {
            for (DeviceBuffer b : new DeviceBuffer[] {logitBuffer, rowLoss, loss, dHidden}) {
                b.fillBytesAsync(0xFF, stream);
            }
            crossEntropy.run(stream, new FusedCrossEntropy.Operands(hiddenBuffer, weightBuffer, targetBuffer, tokens,
                    dim, vocab, logitBuffer, rowLoss), counted, loss, dHidden);
            stream.synchronize();

            // The logits the GEMM produced, against the double product within bf16 rounding.
            float[] logits = gemm.logitsSeen(tokens, vocab);
            assertLogitsClose(logits, hidden, weight, tokens, vocab, dim, description);
            // Reference on those logits: CpuOps cross-entropy, dH = dLogits·W in double.
            float[] expectedRowLoss;
            float[] expectedDLogits;
            try (Arena arena = Arena.ofShared()) {
                Tensor logitTensor = Tensor.of(arena, logits, tokens, vocab);
                Tensor rows = Tensor.f32(arena, tokens);
                new CpuOps().crossEntropy(logitTensor, Tensor.ofInts(arena, targets), 1f / counted, rows);
                expectedRowLoss = rows.toFloatArray();
                expectedDLogits = logitTensor.toFloatArray();
            }
            double expectedLoss = 0;
            for (float l : expectedRowLoss) {
                expectedLoss += l;
            }
            expectedLoss /= counted;
            double[] expectedDh = HostGemm.multiplyExact(expectedDLogits, weight, tokens, dim, vocab);

            float[] gotLoss = FlashAttentionGpuTest.downloadFloats(loss, 1);
            assertTrue(Math.abs(gotLoss[0] - expectedLoss) <= LOSS_TOL * (1 + Math.abs(expectedLoss)),
                    "mean loss " + gotLoss[0] + ", expected " + expectedLoss + " (" + description + ")");
            float[] gotRowLoss = FlashAttentionGpuTest.downloadFloats(rowLoss, tokens);
            for (int t = 0; t < tokens; t++) {
                double bound = LOSS_TOL * (1 + Math.abs(expectedRowLoss[t]));
                assertTrue(Math.abs(gotRowLoss[t] - expectedRowLoss[t]) <= bound, "row loss " + t + ": got "
                        + gotRowLoss[t] + ", expected " + expectedRowLoss[t] + " (" + description + ")");
            }
            float[] gotDLogits = gemm.gradientsSeen(tokens, vocab);
            for (int i = 0; i < gotDLogits.length; i++) {
                double bound = DLOGITS_ATOL + DLOGITS_RTOL * Math.abs(expectedDLogits[i]);
                assertTrue(Math.abs(gotDLogits[i] - expectedDLogits[i]) <= bound, "logit gradient at row "
                        + i / vocab + ", token " + i % vocab + ": got " + gotDLogits[i] + ", expected "
                        + expectedDLogits[i] + " (" + description + ")");
            }
            float[] gotDh = FlashAttentionGpuTest.downloadBf16(dHidden, tokens * dim);
            for (int t = 0; t < tokens; t++) {
                double largest = 0;
                for (int c = 0; c < dim; c++) {
                    largest = Math.max(largest, Math.abs(expectedDh[t * dim + c]));
                }
                for (int c = 0; c < dim; c++) {
                    double expected = expectedDh[t * dim + c];
                    double bound = DH_RTOL * Math.abs(expected) + DH_ATOL * largest;
                    float got = gotDh[t * dim + c];
                    assertTrue(Math.abs(got - expected) <= bound, "dH at row " + t + ", column " + c + ": got "
                            + got + ", expected " + expected + " within " + bound + " (" + description + ")");
                }
            }
        }
    }

    /**
     * The DPO entry points on sequences of 50 rows with chunks of 16 (chunks straddle sequence ends), host GEMM:
     * each sequence's log p is minus the sum of its CPU row losses, and each logit gradient row is its sequence's
     * weight times the CPU's (softmax - onehot), within the tolerances above.
     */
    @Test
    void sequenceLogProbsAndWeightedGradientMatchCpuReference() {
        int seqLen = 50, sequences = 3, tokens = seqLen * sequences, dim = 64, vocab = 32000, chunk = 16;
        float[] weights = {-0.7f, 0.05f, 1.3f};
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] hidden = FlashAttentionGpuTest.bf16Random(random, tokens * dim, 2);
        float[] weight = FlashAttentionGpuTest.bf16Random(random, vocab * dim, 1);
        int[] targets = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            targets[t] = random.nextDouble() < 0.3 ? FusedCrossEntropy.IGNORE_INDEX : random.nextInt(vocab);
        }
        String description = "3 sequences of 50 rows, chunk 16, vocab 32000, seed " + seed;
        Context context = Context.primary(Device.get(0));
        RecordingGemm gemm = new RecordingGemm(context, new HostGemm(context));
        FusedCrossEntropy crossEntropy = new FusedCrossEntropy(context, gemm);
        try (Stream stream = context.createStream();
             DeviceBuffer hiddenBuffer = FlashAttentionGpuTest.uploadBf16(context, hidden);
             DeviceBuffer weightBuffer = FlashAttentionGpuTest.uploadBf16(context, weight);
             DeviceBuffer targetBuffer = FlashAttentionGpuTest.uploadInts(context, targets);
             DeviceBuffer logitBuffer = context.allocate(FusedCrossEntropy.logitsBytes(chunk, vocab));
             DeviceBuffer rowLoss = context.allocate(4L * tokens);
             DeviceBuffer logProbs = context.allocate(4L * sequences);
             DeviceBuffer dHidden = context.allocate(2L * tokens * dim)) {
            FusedCrossEntropy.Operands operands = new FusedCrossEntropy.Operands(hiddenBuffer, weightBuffer,
                    targetBuffer, tokens, dim, vocab, logitBuffer, rowLoss);
            crossEntropy.sequenceLogProbs(stream, operands, seqLen, logProbs);
            stream.synchronize();
            float[] logits = gemm.logitsSeen(tokens, vocab);
            float[] gotLogProbs = FlashAttentionGpuTest.downloadFloats(logProbs, sequences);
            crossEntropy.backwardWeighted(stream, operands, seqLen, weights, dHidden);
            stream.synchronize();
            float[] gotDLogits = gemm.gradientsSeen(tokens, vocab);

            float[] expectedRowLoss;
            float[] unitDLogits;
            try (Arena arena = Arena.ofShared()) {
                Tensor logitTensor = Tensor.of(arena, logits, tokens, vocab);
                Tensor rows = Tensor.f32(arena, tokens);
                new CpuOps().crossEntropy(logitTensor, Tensor.ofInts(arena, targets), 1f, rows);
                expectedRowLoss = rows.toFloatArray();
                unitDLogits = logitTensor.toFloatArray();
            }
            for (int s = 0; s < sequences; s++) {
                double expected = 0, bound = 0;
                for (int t = s * seqLen; t < (s + 1) * seqLen; t++) {
                    expected -= expectedRowLoss[t];
                    bound += LOSS_TOL * (1 + Math.abs(expectedRowLoss[t]));
                }
                assertTrue(Math.abs(gotLogProbs[s] - expected) <= bound, "log p of sequence " + s + ": got "
                        + gotLogProbs[s] + ", expected " + expected + " within " + bound + " (" + description + ")");
            }
            for (int i = 0; i < gotDLogits.length; i++) {
                double expected = (double) weights[i / vocab / seqLen] * unitDLogits[i];
                double bound = DLOGITS_ATOL + DLOGITS_RTOL * Math.abs(expected);
                assertTrue(Math.abs(gotDLogits[i] - expected) <= bound, "weighted logit gradient at row "
                        + i / vocab + ", token " + i % vocab + ": got " + gotDLogits[i] + ", expected " + expected
                        + " (" + description + ")");
            }
        }
    }

    @Test
    void aTargetOutsideTheVocabularyGivesANanLoss() {
        int tokens = 3, dim = 64, vocab = 1024;
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] hidden = FlashAttentionGpuTest.bf16Random(random, tokens * dim, 1);
        float[] weight = FlashAttentionGpuTest.bf16Random(random, vocab * dim, 1);
        int[] targets = {5, vocab, -7};
        Context context = Context.primary(Device.get(0));
        FusedCrossEntropy crossEntropy = new FusedCrossEntropy(context, new HostGemm(context));
        try (Stream stream = context.createStream();
             DeviceBuffer hiddenBuffer = FlashAttentionGpuTest.uploadBf16(context, hidden);
             DeviceBuffer weightBuffer = FlashAttentionGpuTest.uploadBf16(context, weight);
             DeviceBuffer targetBuffer = FlashAttentionGpuTest.uploadInts(context, targets);
             DeviceBuffer logitBuffer = context.allocate(FusedCrossEntropy.logitsBytes(tokens, vocab));
             DeviceBuffer rowLoss = context.allocate(4L * tokens);
             DeviceBuffer loss = context.allocate(16);
             DeviceBuffer dHidden = context.allocate(2L * tokens * dim)) {
            crossEntropy.run(stream, new FusedCrossEntropy.Operands(hiddenBuffer, weightBuffer, targetBuffer, tokens,
                    dim, vocab, logitBuffer, rowLoss), 3, loss, dHidden);
            stream.synchronize();
            float[] rows = FlashAttentionGpuTest.downloadFloats(rowLoss, tokens);
            assertTrue(Float.isFinite(rows[0]) && rows[0] > 0, "row 0 has a valid target: " + rows[0] + ", seed " + seed);
            assertTrue(Float.isNaN(rows[1]) && Float.isNaN(rows[2]), "rows with targets " + vocab + " and -7 must be"
                    + " NaN: " + rows[1] + ", " + rows[2]);
            assertTrue(Float.isNaN(FlashAttentionGpuTest.downloadFloats(loss, 1)[0]), "the mean loss must be NaN");
            float[] dh = FlashAttentionGpuTest.downloadBf16(dHidden, tokens * dim);
            for (int i = dim; i < tokens * dim; i++) {
                assertEquals(0f, dh[i], "rows without a valid target get a zero gradient, element " + i);
            }
        }
    }

    /** Every logit against the double product of its hidden row and head row, within bf16 and float32 rounding. */
    private static void assertLogitsClose(float[] logits, float[] hidden, float[] weight, int tokens, int vocab,
                                          int dim, String description) {
        double largestWeight = 0;
        for (float w : weight) {
            largestWeight = Math.max(largestWeight, Math.abs(w));
        }
        double maxWeight = largestWeight;
        IntStream.range(0, tokens).parallel().forEach(t -> {
            double rowMagnitude = 0;
            for (int c = 0; c < dim; c++) {
                rowMagnitude += Math.abs(hidden[t * dim + c]);
            }
            double accumulation = dim * F32_EPS * rowMagnitude * maxWeight;
            for (int j = 0; j < vocab; j++) {
                double exact = 0;
                for (int c = 0; c < dim; c++) {
                    exact += (double) hidden[t * dim + c] * weight[j * dim + c];
                }
                float got = logits[t * vocab + j];
                double bound = LOGIT_RTOL * Math.abs(exact) + accumulation;
                if (!(Math.abs(got - exact) <= bound)) {
                    throw new AssertionError("logit at row " + t + ", token " + j + ": got " + got + ", expected "
                            + exact + " within " + bound + " (" + description + ")");
                }
            }
        });
    }

    /**
     * Passes the products on to a GEMM and keeps, read back from the device, every logits chunk it produced and
     * every logit-gradient chunk it was given.
     */
    private static final class RecordingGemm implements FusedCrossEntropy.LogitsGemm {
        private final Context context;
        private final FusedCrossEntropy.LogitsGemm gemm;
        private final List<float[]> logits = new ArrayList<>();
        private final List<float[]> gradients = new ArrayList<>();

        RecordingGemm(Context context, FusedCrossEntropy.LogitsGemm gemm) {
            this.context = context;
            this.gemm = gemm;
        }

        @Override
        public void logits(Stream stream, DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer out, int rows,
                           int vocab, int dim) {
            gemm.logits(stream, hidden, weight, out, rows, vocab, dim);
            stream.synchronize();
            logits.add(HostGemm.read(context, out.address(), (long) rows * vocab));
        }

        @Override
        public void hiddenGradient(Stream stream, DeviceBuffer dLogits, DeviceBuffer weight, DeviceBuffer dHidden,
                                   int rows, int vocab, int dim) {
            stream.synchronize();
            gradients.add(HostGemm.read(context, dLogits.address(), (long) rows * vocab));
            gemm.hiddenGradient(stream, dLogits, weight, dHidden, rows, vocab, dim);
        }

        /** Every logits chunk produced, in order, as one [tokens, vocab] array. */
        float[] logitsSeen(int tokens, int vocab) {
            return joined(logits, tokens * vocab, "logits produced by the logits GEMM");
        }

        /** Every logit gradient chunk seen, in order, as one [tokens, vocab] array. */
        float[] gradientsSeen(int tokens, int vocab) {
            return joined(gradients, tokens * vocab, "logit gradients seen by the dH GEMM");
        }

        private static float[] joined(List<float[]> chunks, int length, String what) {
            float[] all = new float[length];
            int at = 0;
            for (float[] chunk : chunks) {
                System.arraycopy(chunk, 0, all, at, chunk.length);
                at += chunk.length;
            }
            assertEquals(all.length, at, "the " + what + " cover every row");
            return all;
        }
    }

    /**
     * The LM-head GEMMs on the host: reads the operands from the device, multiplies in double and stores bf16 (as a
     * GPU GEMM with float32 accumulation does).
     */
    private static final class HostGemm implements FusedCrossEntropy.LogitsGemm {
        private final Context context;

        HostGemm(Context context) {
            this.context = context;
        }

        @Override
        public void logits(Stream stream, DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer out, int rows,
                           int vocab, int dim) {
            stream.synchronize();
            float[] left = read(context, hidden.address(), (long) rows * dim);
            float[] right = read(context, weight.address(), (long) vocab * dim);
            write(context, out.address(), multiply(left, right, rows, vocab, dim, true));
        }

        @Override
        public void hiddenGradient(Stream stream, DeviceBuffer dLogits, DeviceBuffer weight, DeviceBuffer dHidden,
                                   int rows, int vocab, int dim) {
            stream.synchronize();
            float[] left = read(context, dLogits.address(), (long) rows * vocab);
            float[] right = read(context, weight.address(), (long) vocab * dim);
            write(context, dHidden.address(), multiply(left, right, rows, dim, vocab, false));
        }

        static float[] multiply(float[] a, float[] b, int m, int n, int k, boolean bTransposed) {
            float[] c = new float[m * n];
            IntStream.range(0, m).parallel().forEach(i -> {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        sum += (double) a[i * k + p] * (bTransposed ? b[j * k + p] : b[p * n + j]);
                    }
                    c[i * n + j] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) sum));
                }
            });
            return c;
        }

        /** a [m, k] times b [k, n] in double, unrounded. */
        static double[] multiplyExact(float[] a, float[] b, int m, int n, int k) {
            double[] c = new double[m * n];
            IntStream.range(0, m).parallel().forEach(i -> {
                for (int p = 0; p < k; p++) {
                    double x = a[i * k + p];
                    if (x != 0) {
                        for (int j = 0; j < n; j++) {
                            c[i * n + j] += x * b[p * n + j];
                        }
                    }
                }
            });
            return c;
        }

        static float[] read(Context context, long address, long count) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(2 * count, 16);
                context.makeCurrent();
                int result = CudaDriver.cuMemcpyDtoH_v2(host, address, 2 * count);
                assertEquals(0, result, "cuMemcpyDtoH failed");
                float[] values = new float[Math.toIntExact(count)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = HalfFloats.bf16ToFloat(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                }
                return values;
            }
        }

        static void write(Context context, long address, float[] values) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(2L * values.length, 16);
                for (int i = 0; i < values.length; i++) {
                    host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBf16(values[i]));
                }
                context.makeCurrent();
                assertEquals(0, CudaDriver.cuMemcpyHtoD_v2(address, host, host.byteSize()), "cuMemcpyHtoD failed");
            }
        }
    }
}

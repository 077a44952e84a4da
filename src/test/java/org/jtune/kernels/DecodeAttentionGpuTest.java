package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.model.RopeFrequencies;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * decode_attention.ptx against softmax attention in double over the same cache, with RoPE written out as HF rounds
 * it. Cache positions a row must not read (past its position, before its window) hold NaN, so reading one fails
 * the check; outputs are poisoned; the appended key and value are checked bit for bit; a second launch must give
 * the same bits (the split runs combine in a fixed order, and the run counters are reset).
 *
 * <p>Bound: the output is rounded to bf16 (2^-8 of itself, {@link KernelTests#BF16_EPS}); scores are float32 sums of
 * d products (off by at most (d + 16) 2^-23 of the sum of their magnitudes) and pass through ex2.approx (2^-21),
 * which moves each weight p_j by at most a relative 2 delta and the output by 4 delta sum p_j |v_j|; the float32
 * running sums over at most chunk keys, the lane groups and the runs add (chunk + 64) 2^-23 sum p_j |v_j|.
 */
@GpuTest
class DecodeAttentionGpuTest {
    private static final short NAN_BF16 = (short) 0x7FC1;

    private final long seed = System.nanoTime();
    private final SplittableRandom random = new SplittableRandom(seed);

    /** bf16 cos and sin of position p for every frequency, as HF and the kernel compute them. */
    private static short[][] cosSin(int p, float[] invFreq) {
        short[][] cs = new short[2][invFreq.length];
        for (int j = 0; j < invFreq.length; j++) {
            float angle = (float) p * invFreq[j];
            cs[0][j] = toBf16((float) Math.cos(angle));
            cs[1][j] = toBf16((float) Math.sin(angle));
        }
        return cs;
    }

    /** HF's rotation of one head (d values from {@code from}), every product and sum rounded to bf16. */
    private static short[] rotate(short[] x, int from, int d, short[][] cs) {
        short[] out = new short[d];
        int half = d / 2;
        for (int j = 0; j < half; j++) {
            float x1 = bf16(x[from + j]), x2 = bf16(x[from + j + half]);
            float c = bf16(cs[0][j]), s = bf16(cs[1][j]);
            out[j] = toBf16(bf16(toBf16(x1 * c)) + bf16(toBf16(-x2 * s)));
            out[j + half] = toBf16(bf16(toBf16(x2 * c)) + bf16(toBf16(x1 * s)));
        }
        return out;
    }

    /**
     * Decode rows (rotate q, append the new key and value) over slots of different lengths, or (continuation) rows
     * of one slot at consecutive positions whose keys the cache already holds.
     */
    @ParameterizedTest
    @CsvSource({
        // head dim, heads, kv heads, window, capacity, decode, query_pre_attn_scalar (0: the scale is 1/sqrt(d))
        "64,8,2,0,400,true,0", "128,4,4,0,200,true,0", "128,8,2,100,400,true,0", "64,4,1,37,300,true,0",
        "128,8,2,0,1100,true,0", "64,8,2,0,300,false,0", "128,4,2,50,400,false,0",
        "256,8,4,0,700,true,256", "256,4,2,60,300,true,168", "256,8,1,0,400,false,168", "128,4,2,0,300,true,168"})
    void attentionMatchesSoftmaxInDouble(int d, int heads, int kvHeads, int window, int capacity, boolean decode,
                                         int queryPreAttnScalar) {
        float scale = (float) (1.0 / Math.sqrt(queryPreAttnScalar > 0 ? queryPreAttnScalar : d));
        int slots = 5, group = heads / kvHeads, qWidth = heads * d, kvWidth = kvHeads * d;
        int[] rowSlots, rowPositions;
        if (decode) {
            rowSlots = new int[] {3, 0, 4, 1};
            rowPositions = new int[] {0, 33, capacity / 2 + 7, capacity - 1};
        } else {
            int first = capacity / 3, rows = 19;
            rowSlots = new int[rows];
            rowPositions = new int[rows];
            for (int t = 0; t < rows; t++) {
                rowSlots[t] = 2;
                rowPositions[t] = first + t;
            }
        }
        int rows = rowSlots.length;
        float[] invFreq = RopeFrequencies.defaultInvFreq(10_000, d);
        // Cache: random where some row may read, NaN elsewhere.
        short[] k = new short[slots * capacity * kvWidth], v = new short[k.length];
        Arrays.fill(k, NAN_BF16);
        Arrays.fill(v, NAN_BF16);
        int[] readableStart = new int[slots], readableEnd = new int[slots];
        Arrays.fill(readableStart, Integer.MAX_VALUE);
        for (int r = 0; r < rows; r++) {
            int p = rowPositions[r];
            readableStart[rowSlots[r]] = Math.min(readableStart[rowSlots[r]], window > 0 ? Math.max(0, p + 1 - window)
                    : 0);
            readableEnd[rowSlots[r]] = Math.max(readableEnd[rowSlots[r]], decode ? p : p + 1);
        }
        for (int s = 0; s < slots; s++) {
            for (int j = readableStart[s]; j < readableEnd[s]; j++) {
                for (int e = 0; e < kvWidth; e++) {
                    int at = (s * capacity + j) * kvWidth + e;
                    k[at] = toBf16((float) (random.nextDouble() * 2 - 1));
                    v[at] = toBf16((float) (random.nextDouble() * 2 - 1));
                }
            }
        }
        // q (and, decoding, the new k and v) in one row buffer as the decode step lays them out.
        int width = qWidth + 2 * kvWidth;
        short[] qkv = KernelTests.randomBf16(random, rows * width, 1.0);
        DecodeAttention.Layout layout = new DecodeAttention.Layout(heads, kvHeads, d, window, slots, capacity, 32,
                scale);
        Context context = KernelTests.context();
        DecodeAttention attention = new DecodeAttention(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dqkv = KernelTests.upload(context, qkv);
             DeviceBuffer dk = KernelTests.upload(context, k);
             DeviceBuffer dv = KernelTests.upload(context, v);
             DeviceBuffer dslots = KernelTests.upload(context, rowSlots);
             DeviceBuffer dpos = KernelTests.upload(context, rowPositions);
             DeviceBuffer dinv = KernelTests.upload(context, invFreq);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, (long) rows * qWidth);
             DeviceBuffer sums = context.allocate(layout.partialSumBytes());
             DeviceBuffer maxSums = context.allocate(layout.partialMaxSumBytes());
             DeviceBuffer counters = context.allocate(layout.counterBytes())) {
            counters.fillBytesAsync(0, stream);
            DecodeAttention.Workspace workspace = new DecodeAttention.Workspace(sums, maxSums, counters);
            DeviceBuffer kNew = decode ? dqkv.slice(2L * qWidth, dqkv.bytes() - 2L * qWidth) : null;
            DeviceBuffer vNew = decode ? dqkv.slice(2L * (qWidth + kvWidth), dqkv.bytes() - 2L * (qWidth + kvWidth))
                    : null;
            attention.attend(stream, layout, workspace, dqkv, width, decode, kNew, vNew, width, dslots, dpos, dk, dv,
                    dinv, out, qWidth, rows);
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(out, rows * qWidth);
            short[] kAfter = KernelTests.downloadBf16(dk, k.length);
            short[] vAfter = KernelTests.downloadBf16(dv, v.length);
            assertArrayEquals(new int[layout.maxRows() * heads], KernelTests.downloadInts(counters,
                    layout.maxRows() * heads), "run counters not reset, seed " + seed);

            for (int r = 0; r < rows; r++) {
                int slot = rowSlots[r], p = rowPositions[r];
                short[][] cs = cosSin(p, invFreq);
                int start = window > 0 ? Math.max(0, p + 1 - window) : 0;
                for (int h = 0; h < heads; h++) {
                    int hk = h / group;
                    short[] qh = decode ? rotate(qkv, r * width + h * d, d, cs)
                            : Arrays.copyOfRange(qkv, r * width + h * d, r * width + (h + 1) * d);
                    short[] kNewRot = decode ? rotate(qkv, r * width + qWidth + hk * d, d, cs) : null;
                    double[] scores = new double[p + 1 - start];
                    double[] magnitude = new double[scores.length];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = start; j <= p; j++) {
                        double dot = 0, mag = 0;
                        for (int e = 0; e < d; e++) {
                            double kv = decode && j == p ? bf16(kNewRot[e])
                                    : bf16(k[((slot * capacity + j) * kvHeads + hk) * d + e]);
                            dot += bf16(qh[e]) * kv;
                            mag += Math.abs(bf16(qh[e]) * kv);
                        }
                        scores[j - start] = dot * scale;
                        magnitude[j - start] = mag * scale;
                        max = Math.max(max, scores[j - start]);
                    }
                    double total = 0, delta = 0;
                    for (int i = 0; i < scores.length; i++) {
                        total += Math.exp(scores[i] - max);
                        delta = Math.max(delta, (d + 16) * 0x1p-23 * magnitude[i] + 0x1p-21);
                    }
                    for (int e = 0; e < d; e++) {
                        double exact = 0, weighted = 0;
                        for (int j = start; j <= p; j++) {
                            double pj = Math.exp(scores[j - start] - max) / total;
                            double vj = decode && j == p ? bf16(qkv[r * width + qWidth + kvWidth + hk * d + e])
                                    : bf16(v[((slot * capacity + j) * kvHeads + hk) * d + e]);
                            exact += pj * vj;
                            weighted += pj * Math.abs(vj);
                        }
                        double bound = BF16_EPS * 1.01 * Math.abs(exact) + 4 * delta * weighted
                                + (layout.chunk() + 64) * 0x1p-23 * weighted;
                        KernelTests.assertWithin(exact, bf16(got[r * qWidth + h * d + e]), bound,
                                "out[" + r + ", head " + h + ", " + e + "] (slot " + slot + ", position " + p
                                        + ", d " + d + ", window " + window + ", scale " + scale + ", seed "
                                        + seed + ")");
                    }
                    if (decode) {
                        for (int e = 0; e < d; e++) {
                            int at = ((slot * capacity + p) * kvHeads + hk) * d + e;
                            KernelTests.assertSameBf16(kNewRot[e], kAfter[at], "appended key element " + e
                                    + " of row " + r + ", seed " + seed);
                            KernelTests.assertSameBf16(qkv[r * width + qWidth + kvWidth + hk * d + e], vAfter[at],
                                    "appended value element " + e + " of row " + r + ", seed " + seed);
                        }
                    }
                }
            }
            // The same launch again (the cache now holds the appended keys, which it writes again) gives the
            // same bits.
            attention.attend(stream, layout, workspace, dqkv, width, decode, kNew, vNew, width, dslots, dpos, dk, dv,
                    dinv, out, qWidth, rows);
            stream.synchronize();
            assertArrayEquals(got, KernelTests.downloadBf16(out, rows * qWidth), "second launch differs, seed " + seed);
            assertEquals(0, KernelTests.downloadInts(counters, layout.maxRows() * heads)[0]);
        }
    }
}

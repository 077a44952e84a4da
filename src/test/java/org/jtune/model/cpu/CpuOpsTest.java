package org.jtune.model.cpu;

import org.jtune.model.AttentionShape;
import org.jtune.model.Batch;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.numericGradient;
import static org.jtune.model.cpu.GradCheck.project;
import static org.jtune.model.cpu.GradCheck.randomDoubles;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.jtune.model.cpu.GradCheck.toFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op against the double-precision {@link Reference} (forward) and against central differences of that
 * reference (backward), on fresh random inputs, every element checked.
 */
class CpuOpsTest extends TestFixture {
    /** float32 forward vs double reference. */
    private static final double FWD_RTOL = 1e-5, FWD_ATOL = 1e-6;
    /** float32 backward vs finite differences of the double reference. */
    private static final double BWD_RTOL = 1e-4, BWD_ATOL = 1e-5;

    private final Ops ops = new CpuOps();

    private Tensor f32(double[] values, long... shape) {
        return Tensor.of(arena, toFloats(values), shape);
    }

    @Test
    void embeddingGathersRowsAndRejectsBadIds() {
        int vocab = 11, d = 5;
        double[] table = randomDoubles(rnd, vocab * d, 1);
        int[] ids = {3, 0, 10, 3};
        Tensor out = Tensor.f32(arena, ids.length, d);
        ops.embedding(f32(table, vocab, d), Tensor.ofInts(arena, ids), out);
        double[] expected = new double[ids.length * d];
        for (int t = 0; t < ids.length; t++) {
            System.arraycopy(table, ids[t] * d, expected, t * d, d);
        }
        assertClose("embedding", seed, expected, out.toFloatArray(), 0, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.embedding(f32(table, vocab, d), Tensor.ofInts(arena, new int[] {1, 11, 0, 0}), out));
        assertTrue(e.getMessage().contains("11"), e.getMessage());
    }

    @Test
    void rmsNormForwardAndBackward() {
        int n = 5, d = 12;
        float eps = 1e-5f;
        double[] x = randomDoubles(rnd, n * d, 2);
        double[] w = randomDoubles(rnd, d, 1.5);
        double[] dy = randomDoubles(rnd, n * d, 1);
        Tensor out = Tensor.f32(arena, n, d), invRms = Tensor.f32(arena, n);
        ops.rmsNorm(f32(x, n, d), f32(w, d), eps, out, invRms);
        assertClose("rmsnorm forward", seed, Reference.rmsNorm(x, n, d, w, eps), out.toFloatArray(), FWD_RTOL, FWD_ATOL);

        Tensor dx = Tensor.f32(arena, n, d);
        ops.rmsNormBackward(f32(dy, n, d), f32(x, n, d), f32(w, d), invRms, dx, false);
        double[] expected = numericGradient(x, xx -> project(Reference.rmsNorm(xx, n, d, w, eps), dy));
        assertClose("rmsnorm dX", seed, expected, dx.toFloatArray(), BWD_RTOL, BWD_ATOL);

        // accumulate adds to what is there
        double[] prior = randomDoubles(rnd, n * d, 1);
        Tensor acc = f32(prior, n, d);
        ops.rmsNormBackward(f32(dy, n, d), f32(x, n, d), f32(w, d), invRms, acc, true);
        double[] sum = expected.clone();
        for (int i = 0; i < sum.length; i++) {
            sum[i] += prior[i];
        }
        assertClose("rmsnorm dX accumulated", seed, sum, acc.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    @Test
    void linearForwardAndBackwardForEachWeightType() {
        int n = 6, in = 13, out = 7;
        for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            double[] x = randomDoubles(rnd, n * in, 1);
            double[] wRaw = randomDoubles(rnd, out * in, 0.5);
            Tensor w = Tensor.allocate(arena, type, out, in);
            w.copyFrom(toFloats(wRaw));
            double[] wStored = toDoubles(w.toFloatArray()); // the rounded weights are the ones the math must use
            double[] bias = randomDoubles(rnd, out, 1);
            Tensor y = Tensor.f32(arena, n, out);
            ops.linear(f32(x, n, in), w, f32(bias, out), y);
            assertClose("linear forward " + type, seed, Reference.linear(x, n, in, wStored, out, bias),
                    y.toFloatArray(), FWD_RTOL, FWD_ATOL);
            ops.linear(f32(x, n, in), w, null, y);
            assertClose("linear forward without bias " + type, seed, Reference.linear(x, n, in, wStored, out, null),
                    y.toFloatArray(), FWD_RTOL, FWD_ATOL);

            double[] dy = randomDoubles(rnd, n * out, 1);
            Tensor dx = Tensor.f32(arena, n, in);
            ops.linearBackwardInput(f32(dy, n, out), w, dx, false);
            double[] expected = numericGradient(x, xx -> project(Reference.linear(xx, n, in, wStored, out, bias), dy));
            assertClose("linear dX " + type, seed, expected, dx.toFloatArray(), BWD_RTOL, BWD_ATOL);
        }
    }

    @Test
    void loraForwardAndBackward() {
        int n = 5, in = 9, out = 7, r = 3;
        float scaling = 8f / (float) Math.sqrt(r);
        double[] x = randomDoubles(rnd, n * in, 1);
        double[] a = randomDoubles(rnd, r * in, 0.5);
        double[] b = randomDoubles(rnd, out * r, 0.5);
        double[] base = randomDoubles(rnd, n * out, 1);
        double[] dy = randomDoubles(rnd, n * out, 1);
        Tensor y = f32(base, n, out), xa = Tensor.f32(arena, n, r);
        ops.loraForward(f32(x, n, in), f32(a, r, in), f32(b, out, r), scaling, xa, y);
        double[] delta = Reference.loraDelta(x, n, in, a, b, r, out, scaling);
        for (int i = 0; i < delta.length; i++) {
            delta[i] += base[i];
        }
        assertClose("lora forward", seed, delta, y.toFloatArray(), FWD_RTOL, FWD_ATOL);

        double[] priorA = randomDoubles(rnd, r * in, 1), priorB = randomDoubles(rnd, out * r, 1);
        double[] priorX = randomDoubles(rnd, n * in, 1);
        Tensor dA = f32(priorA, r, in), dB = f32(priorB, out, r), dX = f32(priorX, n, in);
        ops.loraBackward(f32(x, n, in), xa, f32(a, r, in), f32(b, out, r), scaling, f32(dy, n, out),
                Tensor.f32(arena, n, r), dA, dB, dX);
        double[] gA = numericGradient(a, aa -> project(Reference.loraDelta(x, n, in, aa, b, r, out, scaling), dy));
        double[] gB = numericGradient(b, bb -> project(Reference.loraDelta(x, n, in, a, bb, r, out, scaling), dy));
        double[] gX = numericGradient(x, xx -> project(Reference.loraDelta(xx, n, in, a, b, r, out, scaling), dy));
        assertClose("lora dA (accumulated)", seed, plus(gA, priorA), dA.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose("lora dB (accumulated)", seed, plus(gB, priorB), dB.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose("lora dX (accumulated)", seed, plus(gX, priorX), dX.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    private static double[] plus(double[] a, double[] b) {
        double[] s = a.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] += b[i];
        }
        return s;
    }

    @Test
    void ropeForwardAndBackward() {
        int n = 7, heads = 3, d = 8;
        float[] inv = org.jtune.model.RopeFrequencies.defaultInvFreq(10000, d);
        int[] pos = new int[n];
        for (int t = 0; t < n; t++) {
            pos[t] = rnd.nextInt(300);
        }
        double[] x = randomDoubles(rnd, n * heads * d, 1);
        Tensor xt = f32(x, n, heads * d);
        Tensor positions = Tensor.ofInts(arena, pos);
        Tensor invT = Tensor.of(arena, inv, d / 2);
        ops.rope(xt, heads, positions, invT, false);
        assertClose("rope forward", seed, Reference.rope(x, n, heads, d, pos, inv, false), xt.toFloatArray(),
                FWD_RTOL, FWD_ATOL);

        double[] dy = randomDoubles(rnd, n * heads * d, 1);
        Tensor g = f32(dy, n, heads * d);
        ops.rope(g, heads, positions, invT, true);
        double[] expected = numericGradient(x, xx -> project(Reference.rope(xx, n, heads, d, pos, inv, false), dy));
        assertClose("rope backward", seed, expected, g.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    @Test
    void attentionMhaCausal() {
        checkAttention(2, 6, 2, 2, 4, 0, false);
    }

    @Test
    void attentionGqaWithSlidingWindow() {
        checkAttention(2, 9, 4, 2, 4, 3, false);
    }

    @Test
    void attentionPackedDocumentsWithGqaAndWindow() {
        checkAttention(2, 10, 6, 2, 4, 4, true);
    }

    @Test
    void attentionPackedDocumentsNoWindow() {
        checkAttention(3, 8, 2, 1, 6, 0, true);
    }

    private void checkAttention(int batch, int seqLen, int heads, int kvHeads, int d, int window, boolean packed) {
        AttentionShape s = new AttentionShape(batch, seqLen, heads, kvHeads, d, window);
        int n = s.tokens();
        int[] docs = new int[n];
        for (int b = 0; b < batch; b++) {
            int doc = 0;
            for (int t = 0; t < seqLen; t++) {
                if (packed && t > 0 && rnd.nextInt(4) == 0) {
                    doc++;
                }
                docs[b * seqLen + t] = doc;
            }
        }
        double[] q = randomDoubles(rnd, n * heads * d, 1.5);
        double[] k = randomDoubles(rnd, n * kvHeads * d, 1.5);
        double[] v = randomDoubles(rnd, n * kvHeads * d, 1);
        double[] dO = randomDoubles(rnd, n * heads * d, 1);
        Tensor qt = f32(q, n, heads * d), kt = f32(k, n, kvHeads * d), vt = f32(v, n, kvHeads * d);
        Tensor docT = Tensor.ofInts(arena, docs);
        Tensor out = Tensor.f32(arena, n, heads * d), lse = Tensor.f32(arena, n, heads);
        ops.attention(qt, kt, vt, docT, s, out, lse);
        double[] refLse = new double[n * heads];
        double[] ref = Reference.attention(q, k, v, batch, seqLen, heads, kvHeads, d, window, docs, refLse);
        String what = "attention " + s + " docs " + java.util.Arrays.toString(docs);
        assertClose(what + " output", seed, ref, out.toFloatArray(), FWD_RTOL, FWD_ATOL);
        assertClose(what + " lse", seed, refLse, lse.toFloatArray(), FWD_RTOL, FWD_ATOL);

        Tensor dQ = Tensor.f32(arena, n, heads * d), dK = Tensor.f32(arena, n, kvHeads * d);
        Tensor dV = Tensor.f32(arena, n, kvHeads * d);
        dK.fill(Float.NaN); // outputs are overwritten, never accumulated
        ops.attentionBackward(qt, kt, vt, out, f32(dO, n, heads * d), lse, docT, s, dQ, dK, dV);
        double[] gq = numericGradient(q, x -> project(
                Reference.attention(x, k, v, batch, seqLen, heads, kvHeads, d, window, docs, null), dO));
        double[] gk = numericGradient(k, x -> project(
                Reference.attention(q, x, v, batch, seqLen, heads, kvHeads, d, window, docs, null), dO));
        double[] gv = numericGradient(v, x -> project(
                Reference.attention(q, k, x, batch, seqLen, heads, kvHeads, d, window, docs, null), dO));
        assertClose(what + " dQ", seed, gq, dQ.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose(what + " dK", seed, gk, dK.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose(what + " dV", seed, gv, dV.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    @Test
    void swigluForwardAndBackwardInPlace() {
        int n = 4, width = 9;
        double[] gate = randomDoubles(rnd, n * width, 4);
        double[] up = randomDoubles(rnd, n * width, 2);
        double[] dy = randomDoubles(rnd, n * width, 1);
        Tensor g = f32(gate, n, width), u = f32(up, n, width), out = Tensor.f32(arena, n, width);
        ops.swiglu(g, u, out);
        assertClose("swiglu forward", seed, Reference.swiglu(gate, up), out.toFloatArray(), FWD_RTOL, FWD_ATOL);
        ops.swigluBackward(g, u, f32(dy, n, width), g, u); // in place
        assertClose("swiglu dGate", seed, numericGradient(gate, x -> project(Reference.swiglu(x, up), dy)),
                g.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose("swiglu dUp", seed, numericGradient(up, x -> project(Reference.swiglu(gate, x), dy)),
                u.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    @Test
    void gegluForwardAndBackwardInPlace() {
        int n = 4, width = 9;
        double[] gate = randomDoubles(rnd, n * width, 4);
        double[] up = randomDoubles(rnd, n * width, 2);
        double[] dy = randomDoubles(rnd, n * width, 1);
        Tensor g = f32(gate, n, width), u = f32(up, n, width), out = Tensor.f32(arena, n, width);
        ops.geglu(g, u, out);
        assertClose("geglu forward", seed, Reference.geglu(gate, up), out.toFloatArray(), FWD_RTOL, FWD_ATOL);
        ops.gegluBackward(g, u, f32(dy, n, width), g, u); // in place
        assertClose("geglu dGate", seed, numericGradient(gate, x -> project(Reference.geglu(x, up), dy)),
                g.toFloatArray(), BWD_RTOL, BWD_ATOL);
        assertClose("geglu dUp", seed, numericGradient(up, x -> project(Reference.geglu(gate, x), dy)),
                u.toFloatArray(), BWD_RTOL, BWD_ATOL);
    }

    @Test
    void scaleElementwise() {
        double[] a = randomDoubles(rnd, 12, 3);
        Tensor at = f32(a, 3, 4);
        ops.scale(at, 1.75f);
        double[] expected = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            expected[i] = (float) a[i] * 1.75;
        }
        assertClose("scale", seed, expected, at.toFloatArray(), 1e-7, 0);
    }

    @Test
    void addElementwise() {
        double[] a = randomDoubles(rnd, 12, 1), b = randomDoubles(rnd, 12, 1);
        Tensor at = f32(a, 3, 4);
        ops.add(at, f32(b, 3, 4), at);
        assertClose("add", seed, plus(a, b), at.toFloatArray(), 1e-7, 0);
    }

    @Test
    void crossEntropyLossAndGradient() {
        int n = 6, vocab = 11;
        double[] logits = randomDoubles(rnd, n * vocab, 5);
        int[] targets = new int[n];
        for (int t = 0; t < n; t++) {
            targets[t] = rnd.nextInt(vocab);
        }
        targets[2] = Batch.IGNORE_INDEX;
        float scale = 1f / 5;
        Tensor lt = f32(logits, n, vocab), rowLoss = Tensor.f32(arena, n);
        ops.crossEntropy(lt, Tensor.ofInts(arena, targets), scale, rowLoss);
        assertClose("cross-entropy row loss", seed, Reference.crossEntropy(logits, n, vocab, targets),
                rowLoss.toFloatArray(), FWD_RTOL, FWD_ATOL);
        double[] expected = numericGradient(logits, x -> {
            double sum = 0;
            for (double l : Reference.crossEntropy(x, n, vocab, targets)) {
                sum += l;
            }
            return sum * scale;
        });
        assertClose("cross-entropy dLogits", seed, expected, lt.toFloatArray(), BWD_RTOL, BWD_ATOL);
        targets[0] = vocab;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.crossEntropy(lt, Tensor.ofInts(arena, targets), scale, rowLoss));
        assertTrue(e.getMessage().contains("label " + vocab), e.getMessage());
    }

    @Test
    void matmulsAreCheckedOnLargerShapesUsingThreads() {
        // Large enough that the work is split over threads; checks the split changes nothing.
        int n = 64, in = 96, out = 80;
        double[] x = randomDoubles(rnd, n * in, 1);
        double[] w = randomDoubles(rnd, out * in, 1);
        Tensor y = Tensor.f32(arena, n, out);
        ops.linear(f32(x, n, in), f32(w, out, in), null, y);
        assertClose("threaded linear", seed, Reference.linear(x, n, in, w, out, null), y.toFloatArray(),
                FWD_RTOL, FWD_ATOL);
        assertEquals(n * out, y.size());
    }
}

package org.jtune.model.cpu;

import org.jtune.model.AttentionShape;
import org.jtune.model.Batch;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.util.Arrays;

/**
 * Reference implementation of {@link Ops} in plain Java: float32 storage, reductions accumulated in double,
 * parallel over rows or heads. Each output element is produced by one thread in a fixed order, so results are
 * identical from run to run whatever the number of threads. Tensors must be readable from any thread
 * (allocated from a shared, global or automatic arena, not a confined one).
 */
public final class CpuOps implements Ops {

    @Override
    public void embedding(Tensor table, Tensor tokens, Tensor out) {
        int n = Math.toIntExact(tokens.size());
        long vocab = table.dim(0);
        int d = Math.toIntExact(table.dim(1));
        out.requireShape("embedding output", n, d);
        float[] row = new float[d];
        for (int t = 0; t < n; t++) {
            int id = tokens.getInt(t);
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " at position " + t
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
            table.readRow(id, row);
            out.writeRow(t, row);
        }
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor invRms) {
        int n = CpuMatmul.rows(x), d = CpuMatmul.cols(x);
        weight.requireShape("RMSNorm weight", d);
        out.requireShape("RMSNorm output", n, d);
        invRms.requireShape("RMSNorm 1/rms", n);
        float[] w = weight.toFloatArray();
        Parallel.forEach(n, d, t -> {
            float[] row = new float[d];
            x.readRow(t, row);
            double sumSquares = 0;
            for (float v : row) {
                sumSquares += (double) v * v;
            }
            float r = (float) (1.0 / Math.sqrt(sumSquares / d + eps));
            invRms.set(t, r);
            for (int j = 0; j < d; j++) {
                row[j] = w[j] * (row[j] * r);
            }
            out.writeRow(t, row);
        });
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor invRms, Tensor dX, boolean accumulate) {
        int n = CpuMatmul.rows(x), d = CpuMatmul.cols(x);
        dOut.requireShape("RMSNorm dOut", n, d);
        dX.requireShape("RMSNorm dX", n, d);
        float[] w = weight.toFloatArray();
        Parallel.forEach(n, d, t -> {
            float[] xr = new float[d];
            float[] gr = new float[d];
            x.readRow(t, xr);
            dOut.readRow(t, gr);
            double r = invRms.get(t);
            // y = w * x * r with r = (mean(x^2)+eps)^-1/2:  dx = r * (g - x * r^2 * <g, x> / d), g = w * dy.
            double gx = 0;
            for (int j = 0; j < d; j++) {
                gx += (double) w[j] * gr[j] * xr[j];
            }
            double c = r * r * gx / d;
            float[] out = new float[d];
            if (accumulate) {
                dX.readRow(t, out);
            }
            for (int j = 0; j < d; j++) {
                out[j] += (float) (r * ((double) w[j] * gr[j] - xr[j] * c));
            }
            dX.writeRow(t, out);
        });
    }

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor y) {
        CpuMatmul.nt(x, w, y, 1f, false);
        if (bias != null) {
            int n = CpuMatmul.rows(y), out = CpuMatmul.cols(y);
            bias.requireShape("linear bias", out);
            for (int t = 0; t < n; t++) {
                for (int j = 0; j < out; j++) {
                    long i = (long) t * out + j;
                    y.set(i, y.get(i) + bias.get(j));
                }
            }
        }
    }

    @Override
    public void linearBackwardInput(Tensor dY, Tensor w, Tensor dX, boolean accumulate) {
        CpuMatmul.nn(dY, w, dX, 1f, accumulate);
    }

    @Override
    public void loraForward(Tensor x, Tensor a, Tensor b, float scaling, Tensor xa, Tensor y) {
        CpuMatmul.nt(x, a, xa, 1f, false);
        CpuMatmul.nt(xa, b, y, scaling, true);
    }

    @Override
    public void loraBackward(Tensor x, Tensor xa, Tensor a, Tensor b, float scaling, Tensor dY,
                             Tensor dXa, Tensor dA, Tensor dB, Tensor dX) {
        CpuMatmul.nn(dY, b, dXa, scaling, false);
        CpuMatmul.tn(dXa, x, dA, 1f, true);
        CpuMatmul.tn(dY, xa, dB, scaling, true);
        CpuMatmul.nn(dXa, a, dX, 1f, true);
    }

    @Override
    public void rope(Tensor x, int heads, Tensor positions, Tensor invFreq, boolean inverse) {
        int n = CpuMatmul.rows(x);
        int width = CpuMatmul.cols(x);
        int half = Math.toIntExact(invFreq.size());
        if (width != heads * 2 * half) {
            throw new IllegalArgumentException("RoPE on " + x + " with " + heads + " heads of dimension " + (2 * half));
        }
        positions.requireShape("RoPE positions", n);
        float[] inv = invFreq.toFloatArray();
        float sign = inverse ? -1f : 1f;
        Parallel.forEach(n, width, t -> {
            float pos = positions.getInt(t);
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (int i = 0; i < half; i++) {
                float angle = pos * inv[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = sign * (float) Math.sin(angle);
            }
            float[] row = new float[width];
            x.readRow(t, row);
            for (int h = 0; h < heads; h++) {
                int base = h * 2 * half;
                for (int i = 0; i < half; i++) {
                    float x1 = row[base + i];
                    float x2 = row[base + half + i];
                    row[base + i] = x1 * cos[i] - x2 * sin[i];
                    row[base + half + i] = x2 * cos[i] + x1 * sin[i];
                }
            }
            x.writeRow(t, row);
        });
    }

    /** First key index that query {@code t} (flat token index) may see; keys run from there to t. */
    private static int firstVisibleKey(Tensor docIds, int t, int rowStart, int window) {
        int doc = docIds.getInt(t);
        int lowest = window > 0 ? Math.max(rowStart, t - window + 1) : rowStart;
        int j = t;
        while (j > lowest && docIds.getInt(j - 1) == doc) {
            j--;
        }
        return j;
    }

    private static void checkAttention(Tensor q, Tensor k, Tensor v, Tensor docIds, AttentionShape s, Tensor out) {
        int n = s.tokens();
        q.requireShape("attention q", n, (long) s.heads() * s.headDim());
        k.requireShape("attention k", n, (long) s.kvHeads() * s.headDim());
        v.requireShape("attention v", n, (long) s.kvHeads() * s.headDim());
        docIds.requireShape("attention document ids", n);
        out.requireShape("attention output", n, (long) s.heads() * s.headDim());
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor docIds, AttentionShape s, Tensor out, Tensor lse) {
        checkAttention(q, k, v, docIds, s, out);
        lse.requireShape("attention log-sum-exp", s.tokens(), s.heads());
        int d = s.headDim(), T = s.seqLen(), H = s.heads(), K = s.kvHeads();
        double scale = s.scale();
        Parallel.forEach(s.batch() * H, (long) T * T * d, job -> {
            int b = job / H, h = job % H, kvh = s.kvHeadOf(h);
            int rowStart = b * T;
            double[] scores = new double[T];
            float[] qRow = new float[d];
            double[] acc = new double[d];
            for (int t = rowStart; t < rowStart + T; t++) {
                read(q, t, H * d, h * d, qRow);
                int first = firstVisibleKey(docIds, t, rowStart, s.window());
                double max = Double.NEGATIVE_INFINITY;
                for (int j = first; j <= t; j++) {
                    scores[j - first] = dot(qRow, k, j, K * d, kvh * d) * scale;
                    max = Math.max(max, scores[j - first]);
                }
                double sum = 0;
                Arrays.fill(acc, 0);
                for (int j = first; j <= t; j++) {
                    double p = Math.exp(scores[j - first] - max);
                    sum += p;
                    long vBase = (long) j * K * d + (long) kvh * d;
                    for (int c = 0; c < d; c++) {
                        acc[c] += p * v.get(vBase + c);
                    }
                }
                long oBase = (long) t * H * d + (long) h * d;
                for (int c = 0; c < d; c++) {
                    out.set(oBase + c, (float) (acc[c] / sum));
                }
                lse.set((long) t * H + h, (float) (max + Math.log(sum)));
            }
        });
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor dOut, Tensor lse, Tensor docIds,
                                  AttentionShape s, Tensor dQ, Tensor dK, Tensor dV) {
        checkAttention(q, k, v, docIds, s, out);
        dOut.requireShape("attention dOut", q.shape());
        dQ.requireShape("attention dQ", q.shape());
        dK.requireShape("attention dK", k.shape());
        dV.requireShape("attention dV", v.shape());
        int d = s.headDim(), T = s.seqLen(), H = s.heads(), K = s.kvHeads(), group = s.groupSize();
        double scale = s.scale();
        // One job per (batch row, kv head): it owns dK/dV of that head and dQ of the query heads of its group.
        Parallel.forEach(s.batch() * K, (long) group * T * T * d, job -> {
            int b = job / K, kvh = job % K;
            int rowStart = b * T;
            double[][] dk = new double[T][d];
            double[][] dv = new double[T][d];
            float[] qRow = new float[d];
            float[] doRow = new float[d];
            double[] dq = new double[d];
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = rowStart; t < rowStart + T; t++) {
                    read(q, t, H * d, h * d, qRow);
                    read(dOut, t, H * d, h * d, doRow);
                    long oBase = (long) t * H * d + (long) h * d;
                    double rowDot = 0;
                    for (int c = 0; c < d; c++) {
                        rowDot += (double) doRow[c] * out.get(oBase + c);
                    }
                    double lseT = lse.get((long) t * H + h);
                    Arrays.fill(dq, 0);
                    int first = firstVisibleKey(docIds, t, rowStart, s.window());
                    for (int j = first; j <= t; j++) {
                        double p = Math.exp(dot(qRow, k, j, K * d, kvh * d) * scale - lseT);
                        double dp = dot(doRow, v, j, K * d, kvh * d);
                        double ds = p * (dp - rowDot) * scale;
                        long kBase = (long) j * K * d + (long) kvh * d;
                        double[] dkj = dk[j - rowStart];
                        double[] dvj = dv[j - rowStart];
                        for (int c = 0; c < d; c++) {
                            dvj[c] += p * doRow[c];
                            dq[c] += ds * k.get(kBase + c);
                            dkj[c] += ds * qRow[c];
                        }
                    }
                    for (int c = 0; c < d; c++) {
                        dQ.set(oBase + c, (float) dq[c]);
                    }
                }
            }
            for (int t = 0; t < T; t++) {
                long base = (long) (rowStart + t) * K * d + (long) kvh * d;
                for (int c = 0; c < d; c++) {
                    dK.set(base + c, (float) dk[t][c]);
                    dV.set(base + c, (float) dv[t][c]);
                }
            }
        });
    }

    private static void read(Tensor x, int row, int width, int offset, float[] dst) {
        long base = (long) row * width + offset;
        for (int c = 0; c < dst.length; c++) {
            dst[c] = x.get(base + c);
        }
    }

    private static double dot(float[] a, Tensor x, int row, int width, int offset) {
        long base = (long) row * width + offset;
        double sum = 0;
        for (int c = 0; c < a.length; c++) {
            sum += (double) a[c] * x.get(base + c);
        }
        return sum;
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor out) {
        requireSameShape(gate, up, out);
        long n = gate.size();
        for (long i = 0; i < n; i++) {
            float g = gate.get(i);
            float silu = (float) (g / (1.0 + Math.exp(-g)));
            out.set(i, silu * up.get(i));
        }
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp) {
        requireSameShape(gate, up, dOut);
        requireSameShape(gate, dGate, dUp);
        long n = gate.size();
        for (long i = 0; i < n; i++) {
            double g = gate.get(i);
            double u = up.get(i);
            double dy = dOut.get(i);
            double sig = 1.0 / (1.0 + Math.exp(-g));
            double silu = g * sig;
            dGate.set(i, (float) (dy * u * sig * (1.0 + g * (1.0 - sig))));
            dUp.set(i, (float) (dy * silu));
        }
    }

    /** sqrt(2/pi), the constant of the tanh approximation of GELU. */
    private static final double GELU_C = Math.sqrt(2 / Math.PI);
    private static final double GELU_CUBIC = 0.044715;

    @Override
    public void geglu(Tensor gate, Tensor up, Tensor out) {
        requireSameShape(gate, up, out);
        long n = gate.size();
        for (long i = 0; i < n; i++) {
            double g = gate.get(i);
            double gelu = 0.5 * g * (1 + Math.tanh(GELU_C * (g + GELU_CUBIC * g * g * g)));
            out.set(i, (float) gelu * up.get(i));
        }
    }

    @Override
    public void gegluBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp) {
        requireSameShape(gate, up, dOut);
        requireSameShape(gate, dGate, dUp);
        long n = gate.size();
        for (long i = 0; i < n; i++) {
            double g = gate.get(i);
            double u = up.get(i);
            double dy = dOut.get(i);
            double th = Math.tanh(GELU_C * (g + GELU_CUBIC * g * g * g));
            double gelu = 0.5 * g * (1 + th);
            // d/dg of 0.5 g (1 + tanh(c (g + a g^3))) = 0.5 (1 + t) + 0.5 g (1 - t^2) c (1 + 3 a g^2)
            double dGelu = 0.5 * (1 + th) + 0.5 * g * (1 - th * th) * GELU_C * (1 + 3 * GELU_CUBIC * g * g);
            dGate.set(i, (float) (dy * u * dGelu));
            dUp.set(i, (float) (dy * gelu));
        }
    }

    @Override
    public void scale(Tensor x, float factor) {
        long n = x.size();
        for (long i = 0; i < n; i++) {
            x.set(i, x.get(i) * factor);
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        requireSameShape(a, b, out);
        long n = a.size();
        for (long i = 0; i < n; i++) {
            out.set(i, a.get(i) + b.get(i));
        }
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, float gradScale, Tensor rowLoss) {
        int n = CpuMatmul.rows(logits), vocab = CpuMatmul.cols(logits);
        targets.requireShape("cross-entropy targets", n);
        rowLoss.requireShape("cross-entropy row losses", n);
        for (int t = 0; t < n; t++) {
            int target = targets.getInt(t);
            if (target != Batch.IGNORE_INDEX && (target < 0 || target >= vocab)) {
                throw new IllegalArgumentException("label " + target + " at row " + t + " is outside [0, " + vocab
                        + ") and is not the ignore index " + Batch.IGNORE_INDEX);
            }
        }
        Parallel.forEach(n, vocab, t -> {
            int target = targets.getInt(t);
            float[] row = new float[vocab];
            if (target == Batch.IGNORE_INDEX) {
                rowLoss.set(t, 0f);
                logits.writeRow(t, row);
                return;
            }
            logits.readRow(t, row);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : row) {
                sum += Math.exp(v - max);
            }
            double lse = max + Math.log(sum);
            rowLoss.set(t, (float) (lse - row[target]));
            for (int j = 0; j < vocab; j++) {
                double p = Math.exp(row[j] - lse);
                row[j] = (float) (gradScale * (j == target ? p - 1.0 : p));
            }
            logits.writeRow(t, row);
        });
    }

    private static void requireSameShape(Tensor a, Tensor b, Tensor c) {
        if (!Arrays.equals(a.shape(), b.shape()) || !Arrays.equals(a.shape(), c.shape())) {
            throw new IllegalArgumentException("elementwise op on different shapes: " + a + ", " + b + ", " + c);
        }
        if (a.dtype() != DType.F32 || c.dtype() != DType.F32) {
            throw new IllegalArgumentException("elementwise ops work on F32 tensors: " + a + ", " + c);
        }
    }
}

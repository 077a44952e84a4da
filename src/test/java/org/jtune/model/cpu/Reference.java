package org.jtune.model.cpu;

/**
 * Naive double-precision versions of the model math, written directly from the definitions (HF Llama/Mistral),
 * used as the oracle for the float32 ops and as the function finite differences are taken of.
 * All arrays are flat and row-major.
 */
public final class Reference {
    private Reference() {}

    public static double[] rmsNorm(double[] x, int n, int d, double[] w, double eps) {
        double[] y = new double[n * d];
        for (int t = 0; t < n; t++) {
            double ss = 0;
            for (int j = 0; j < d; j++) {
                ss += x[t * d + j] * x[t * d + j];
            }
            double r = 1 / Math.sqrt(ss / d + eps);
            for (int j = 0; j < d; j++) {
                y[t * d + j] = w[j] * x[t * d + j] * r;
            }
        }
        return y;
    }

    /** y = x·wᵀ + bias; x [n,in], w [out,in]. */
    public static double[] linear(double[] x, int n, int in, double[] w, int out, double[] bias) {
        double[] y = new double[n * out];
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[t * in + i] * w[o * in + i];
                }
                y[t * out + o] = s;
            }
        }
        return y;
    }

    /** The LoRA delta scaling·(x·aᵀ)·bᵀ; a [r,in], b [out,r]. */
    public static double[] loraDelta(double[] x, int n, int in, double[] a, double[] b, int r, int out, double scaling) {
        double[] xa = linear(x, n, in, a, r, null);
        double[] y = linear(xa, n, r, b, out, null);
        for (int i = 0; i < y.length; i++) {
            y[i] *= scaling;
        }
        return y;
    }

    /** Split-half RoPE, angle pos·invFreq (the float32 product, as the op and HF form it). */
    public static double[] rope(double[] x, int n, int heads, int d, int[] pos, float[] invFreq, boolean inverse) {
        double[] y = x.clone();
        int half = d / 2;
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    double angle = (float) pos[t] * invFreq[i];
                    double c = Math.cos(angle), s = inverse ? -Math.sin(angle) : Math.sin(angle);
                    int a = t * heads * d + h * d + i, b = a + half;
                    y[a] = x[a] * c - x[b] * s;
                    y[b] = x[b] * c + x[a] * s;
                }
            }
        }
        return y;
    }

    /** Whether query token t may attend key token u (flat indices), from the mask definition. */
    public static boolean visible(int t, int u, int seqLen, int window, int[] docIds) {
        boolean sameRow = t / seqLen == u / seqLen;
        boolean causal = u <= t;
        boolean inWindow = window == 0 || u > t - window;
        return sameRow && causal && inWindow && docIds[t] == docIds[u];
    }

    /** Attention output [n, H*d]; lseOut (if not null) receives [n, H]. Softmax over the visible keys. */
    public static double[] attention(double[] q, double[] k, double[] v, int batch, int seqLen, int heads,
                                     int kvHeads, int d, int window, int[] docIds, double[] lseOut) {
        return attention(q, k, v, batch, seqLen, heads, kvHeads, d, window, 1 / Math.sqrt(d), docIds, lseOut);
    }

    /** As above, with the scores scaled by {@code scale}. */
    public static double[] attention(double[] q, double[] k, double[] v, int batch, int seqLen, int heads,
                                     int kvHeads, int d, int window, double scale, int[] docIds, double[] lseOut) {
        int n = batch * seqLen;
        double[] out = new double[n * heads * d];
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h / (heads / kvHeads);
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int u = 0; u < n; u++) {
                    if (!visible(t, u, seqLen, window, docIds)) {
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += q[t * heads * d + h * d + c] * k[u * kvHeads * d + kvh * d + c];
                    }
                    s[u] = dot * scale;
                    max = Math.max(max, s[u]);
                }
                double sum = 0;
                for (int u = 0; u < n; u++) {
                    if (visible(t, u, seqLen, window, docIds)) {
                        sum += Math.exp(s[u] - max);
                    }
                }
                for (int u = 0; u < n; u++) {
                    if (visible(t, u, seqLen, window, docIds)) {
                        double p = Math.exp(s[u] - max) / sum;
                        for (int c = 0; c < d; c++) {
                            out[t * heads * d + h * d + c] += p * v[u * kvHeads * d + kvh * d + c];
                        }
                    }
                }
                if (lseOut != null) {
                    lseOut[t * heads + h] = max + Math.log(sum);
                }
            }
        }
        return out;
    }

    /** {@code 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))) * up}: transformers' gelu_pytorch_tanh, gated. */
    public static double[] geglu(double[] gate, double[] up) {
        double[] y = new double[gate.length];
        for (int i = 0; i < y.length; i++) {
            double g = gate[i];
            y[i] = 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) * up[i];
        }
        return y;
    }

    public static double[] swiglu(double[] gate, double[] up) {
        double[] y = new double[gate.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        }
        return y;
    }

    /** Per-row -log softmax(logits)[target]; 0 for target -100. */
    public static double[] crossEntropy(double[] logits, int n, int vocab, int[] targets) {
        double[] loss = new double[n];
        for (int t = 0; t < n; t++) {
            if (targets[t] == -100) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[t * vocab + j]);
            }
            double sum = 0;
            for (int j = 0; j < vocab; j++) {
                sum += Math.exp(logits[t * vocab + j] - max);
            }
            loss[t] = max + Math.log(sum) - logits[t * vocab + targets[t]];
        }
        return loss;
    }
}

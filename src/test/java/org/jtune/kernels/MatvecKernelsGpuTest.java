package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.quant.DynamicMap;
import org.jtune.quant.Nf4;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.jtune.kernels.KernelTests.BF16_EPS;
import static org.jtune.kernels.KernelTests.bf16;
import static org.jtune.kernels.KernelTests.toBf16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * decode_matvec.ptx against sums in double on fresh random inputs, every output element checked, outputs poisoned
 * first and the elements around them (rows past the batch, columns past n) checked untouched.
 *
 * <p>Bounds. The products are float32 sums: each output goes through at most k/16 + k/64 + 16 float32 additions
 * (tensor-core steps, NF4 block scaling, the warps' sums), each off by at most 2^-23 of the running sum of
 * magnitudes, so |acc - exact| <= (k/8 + 16) 2^-23 sum|w x| ({@link #accBound}). A bf16 rounding adds at most 2^-8
 * of the value ({@link KernelTests#BF16_EPS}). The bounds are worst cases, not statistics, and stay far below a
 * product's typical size (sqrt(k) times the terms' against k/8 2^-23 k): a wrong element, row or scale is caught.
 */
@GpuTest
class MatvecKernelsGpuTest {

    private final long seed = System.nanoTime();
    private final SplittableRandom random = new SplittableRandom(seed);

    private static double accBound(int k, double magnitude) {
        return (k / 8.0 + 16) * 0x1p-23 * magnitude;
    }

    /** Random x [batch, ldx] (bf16), W [n, k] (bf16), and the exact products with their magnitudes. */
    private record Dense(short[] x, int ldx, short[] w, double[][] acc, double[][] magnitude) {}

    private Dense dense(int batch, int n, int k, int ldx) {
        short[] x = KernelTests.randomBf16(random, batch * ldx, 1.0);
        short[] w = KernelTests.randomBf16(random, n * k, 1.0);
        double[][] acc = new double[batch][n];
        double[][] magnitude = new double[batch][n];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < n; j++) {
                for (int kk = 0; kk < k; kk++) {
                    double t = (double) bf16(x[b * ldx + kk]) * bf16(w[j * k + kk]);
                    acc[b][j] += t;
                    magnitude[b][j] += Math.abs(t);
                }
            }
        }
        return new Dense(x, ldx, w, acc, magnitude);
    }

    /** Checks y [rows, ldy] (bf16): inside [batch, n] each element against {@code check}, outside still poison. */
    private void checkBf16(short[] y, int batch, int n, int ldy, int rows, ElementCheck check) {
        for (int b = 0; b < rows; b++) {
            for (int j = 0; j < ldy; j++) {
                short got = y[b * ldy + j];
                if (b < batch && j < n) {
                    check.at(b, j, bf16(got));
                } else if (got != (short) (KernelTests.POISON_BF16_PAIR & 0xFFFF)) {
                    fail("element [" + b + ", " + j + "] outside the " + batch + " x " + n + " product was written ("
                            + KernelTests.hex(got) + "), seed " + seed);
                }
            }
        }
    }

    @FunctionalInterface
    private interface ElementCheck {
        void at(int b, int j, double got);
    }

    @ParameterizedTest
    @CsvSource({"1,16,64", "1,37,264", "2,100,1000", "8,257,4096", "9,64,136", "16,300,520", "16,33,14344",
        "5,1,8"})
    void bf16ProductMatchesDoubleSums(int batch, int n, int k) {
        int ldx = k + 8, ldy = n + 3;
        Dense d = dense(batch, n, k, ldx);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer x = KernelTests.upload(context, d.x);
             DeviceBuffer w = KernelTests.upload(context, d.w);
             DeviceBuffer y = KernelTests.poisonedBf16(context, stream, (long) (batch + 1) * ldy)) {
            kernels.multiply(stream, MatvecKernels.Mode.STORE, x, ldx, batch, k,
                    List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(w, n), y, null)), ldy, null);
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(y, (batch + 1) * ldy);
            checkBf16(got, batch, n, ldy, batch + 1, (b, j, v) -> {
                double exact = d.acc[b][j];
                double bound = BF16_EPS * Math.abs(exact) + 1.01 * accBound(k, d.magnitude[b][j]);
                KernelTests.assertWithin(exact, v, bound, where("y", b, j, batch, n, k));
            });
        }
    }

    /** Three segments (q, k, v) in one launch, writing into one row buffer, each with its LoRA term. */
    @ParameterizedTest
    @CsvSource({"1,8", "5,16", "16,8"})
    void fusedSegmentsWithLora(int batch, int rank) {
        int k = 264, ldx = k;
        int[] ns = {48, 16, 24};
        int width = 88;
        float scaling = 2.0f;
        Dense[] parts = new Dense[3];
        short[] x = KernelTests.randomBf16(random, batch * ldx, 1.0);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        float[] xa = KernelTests.randomFloats(random, batch * 3 * rank, 1.0);
        float[][] loraB = new float[3][];
        List<DeviceBuffer> owned = new ArrayList<>();
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer dxa = KernelTests.upload(context, xa);
             DeviceBuffer y = KernelTests.poisonedBf16(context, stream, (long) (batch + 1) * width)) {
            List<MatvecKernels.Segment> segments = new ArrayList<>();
            int column = 0;
            for (int s = 0; s < 3; s++) {
                short[] w = KernelTests.randomBf16(random, ns[s] * k, 1.0);
                parts[s] = withProducts(x, ldx, w, batch, ns[s], k);
                loraB[s] = KernelTests.randomFloats(random, ns[s] * rank, 0.5);
                DeviceBuffer dw = KernelTests.upload(context, w);
                DeviceBuffer db = KernelTests.upload(context, loraB[s]);
                owned.add(dw);
                owned.add(db);
                segments.add(new MatvecKernels.Segment(new MatvecKernels.Bf16(dw, ns[s]),
                        y.slice(2L * column, y.bytes() - 2L * column), db));
                column += ns[s];
            }
            kernels.multiply(stream, MatvecKernels.Mode.STORE, dx, ldx, batch, k, segments, width,
                    new MatvecKernels.Lora(dxa, 3 * rank, rank, scaling));
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(y, (batch + 1) * width);
            checkBf16(got, batch, width, width, batch + 1, (b, j, v) -> {
                int s = j < ns[0] ? 0 : j < ns[0] + ns[1] ? 1 : 2;
                int jj = j - (s == 0 ? 0 : s == 1 ? ns[0] : ns[0] + ns[1]);
                double exact = parts[s].acc[b][jj];
                double lora = 0, loraMagnitude = 0;
                for (int i = 0; i < rank; i++) {
                    double t = (double) xa[b * 3 * rank + s * rank + i] * loraB[s][jj * rank + i];
                    lora += t;
                    loraMagnitude += Math.abs(t);
                }
                lora *= scaling;
                double total = exact + lora;
                double bound = BF16_EPS * 1.01 * (Math.abs(exact) + Math.abs(total))
                        + 1.02 * accBound(k, parts[s].magnitude[b][jj])
                        + (rank + 2) * 0x1p-23 * scaling * loraMagnitude;
                KernelTests.assertWithin(total, v, bound, where("segment " + s + " y", b, jj, batch, ns[s], k));
            });
        } finally {
            owned.forEach(DeviceBuffer::close);
        }
    }

    private static Dense withProducts(short[] x, int ldx, short[] w, int batch, int n, int k) {
        double[][] acc = new double[batch][n];
        double[][] magnitude = new double[batch][n];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < n; j++) {
                for (int kk = 0; kk < k; kk++) {
                    double t = (double) bf16(x[b * ldx + kk]) * bf16(w[j * k + kk]);
                    acc[b][j] += t;
                    magnitude[b][j] += Math.abs(t);
                }
            }
        }
        return new Dense(x, ldx, w, acc, magnitude);
    }

    @ParameterizedTest
    @CsvSource({"1,40,200", "16,40,200", "3,129,1032"})
    void residualAddInPlace(int batch, int n, int k) {
        int ldx = k, ldy = n;
        Dense d = dense(batch, n, k, ldx);
        short[] y0 = KernelTests.randomBf16(random, batch * ldy, 30.0);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer x = KernelTests.upload(context, d.x);
             DeviceBuffer w = KernelTests.upload(context, d.w);
             DeviceBuffer y = KernelTests.upload(context, y0)) {
            kernels.multiply(stream, MatvecKernels.Mode.RESIDUAL_ADD, x, ldx, batch, k,
                    List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(w, n), y, null)), ldy, null);
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(y, batch * ldy);
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < n; j++) {
                    double product = d.acc[b][j];
                    double ev = BF16_EPS * Math.abs(product) + 1.01 * accBound(k, d.magnitude[b][j]);
                    double exact = bf16(y0[b * ldy + j]) + product;
                    double bound = ev + BF16_EPS * (Math.abs(exact) + ev);
                    KernelTests.assertWithin(exact, bf16(got[b * ldy + j]), bound, where("y", b, j, batch, n, k));
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,40,200,false", "16,40,200,false", "3,70,520,true", "12,16,64,true"})
    void swigluOfGateAndUp(int batch, int n, int k, boolean lora) {
        int ldx = k, ldy = n + 1, rank = 8;
        float scaling = 0.5f;
        short[] x = KernelTests.randomBf16(random, batch * ldx, 1.0);
        short[] wg = KernelTests.randomBf16(random, n * k, 0.2);
        short[] wu = KernelTests.randomBf16(random, n * k, 0.2);
        Dense gate = withProducts(x, ldx, wg, batch, n, k);
        Dense up = withProducts(x, ldx, wu, batch, n, k);
        float[] xa = KernelTests.randomFloats(random, batch * 2 * rank, 1.0);
        float[] bg = KernelTests.randomFloats(random, n * rank, 0.5);
        float[] bu = KernelTests.randomFloats(random, n * rank, 0.5);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer dg = KernelTests.upload(context, wg);
             DeviceBuffer du = KernelTests.upload(context, wu);
             DeviceBuffer dxa = KernelTests.upload(context, xa);
             DeviceBuffer dbg = KernelTests.upload(context, bg);
             DeviceBuffer dbu = KernelTests.upload(context, bu);
             DeviceBuffer h = KernelTests.poisonedBf16(context, stream, (long) (batch + 1) * ldy)) {
            kernels.multiply(stream, MatvecKernels.Mode.SWIGLU, dx, ldx, batch, k,
                    List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(dg, n), h, dbg),
                            new MatvecKernels.Segment(new MatvecKernels.Bf16(du, n), null, dbu)),
                    ldy, lora ? new MatvecKernels.Lora(dxa, 2 * rank, rank, scaling) : null);
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(h, (batch + 1) * ldy);
            checkBf16(got, batch, n, ldy, batch + 1, (b, j, v) -> {
                double[] g = withLora(gate, b, j, k, lora, xa, 2 * rank, 0, bg, rank, scaling);
                double[] u = withLora(up, b, j, k, lora, xa, 2 * rank, rank, bu, rank, scaling);
                double sig = 1 / (1 + Math.exp(-g[0]));
                double silu = g[0] * sig;
                double exact = silu * u[0];
                // silu' is at most 1.1 in magnitude; silu is rounded to bf16 (and ex2.approx adds ~2^-21 of g)
                double eSilu = 1.1 * g[1] + BF16_EPS * (Math.abs(silu) + 1.1 * g[1]) + 0x1p-20 * Math.abs(g[0]);
                double eProduct = eSilu * (Math.abs(u[0]) + u[1]) + Math.abs(silu) * u[1];
                double bound = eProduct + BF16_EPS * (Math.abs(exact) + eProduct) + 1e-30;
                KernelTests.assertWithin(exact, v, bound, where("h", b, j, batch, n, k));
            });
        }
    }

    /** The exact value of one product with its LoRA term, and a bound on the kernel's error in it (rounded). */
    private static double[] withLora(Dense d, int b, int j, int k, boolean lora, float[] xa, int ldxa, int column,
                                     float[] loraB, int rank, float scaling) {
        double exact = d.acc[b][j];
        double term = 0, termMagnitude = 0;
        if (lora) {
            for (int i = 0; i < rank; i++) {
                double t = (double) xa[b * ldxa + column + i] * loraB[j * rank + i];
                term += t;
                termMagnitude += Math.abs(t);
            }
        }
        double total = exact + scaling * term;
        double error = BF16_EPS * 1.01 * (Math.abs(exact) + Math.abs(total)) + 1.02 * accBound(k, d.magnitude[b][j])
                + (rank + 2) * 0x1p-23 * scaling * termMagnitude;
        return new double[] {total, error};
    }

    @Test
    void floatOutputIsUnrounded() {
        int batch = 2, n = 1000, k = 256, ldy = 1003;
        Dense d = dense(batch, n, k, k);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer x = KernelTests.upload(context, d.x);
             DeviceBuffer w = KernelTests.upload(context, d.w);
             DeviceBuffer y = KernelTests.poisonedFloats(context, stream, (long) (batch + 1) * ldy)) {
            kernels.multiply(stream, MatvecKernels.Mode.FLOAT_OUTPUT, x, k, batch, k,
                    List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(w, n), y, null)), ldy, null);
            stream.synchronize();
            float[] got = KernelTests.downloadFloats(y, (batch + 1) * ldy);
            for (int b = 0; b <= batch; b++) {
                for (int j = 0; j < ldy; j++) {
                    float v = got[b * ldy + j];
                    if (b < batch && j < n) {
                        KernelTests.assertWithin(d.acc[b][j], v, accBound(k, d.magnitude[b][j]),
                                where("logit", b, j, batch, n, k));
                    } else {
                        assertEquals(KernelTests.POISON_F32, Float.floatToRawIntBits(v),
                                "logit [" + b + ", " + j + "] outside the product was written, seed " + seed);
                    }
                }
            }
        }
    }

    /** Random NF4 weights with their quantization state, and the exact sums of the kernel's math and of bnb's. */
    private final class Nf4Case {
        final int n, k, blocksize, nestedBlocksize;
        final boolean doubleQuant;
        final byte[] packed;
        final float[] absmax;
        final byte[] qabs;
        final float[] nestedAbsmax;
        final float offset;

        Nf4Case(int n, int k, int blocksize, boolean doubleQuant, int nestedBlocksize) {
            this.n = n;
            this.k = k;
            this.blocksize = blocksize;
            this.doubleQuant = doubleQuant;
            this.nestedBlocksize = nestedBlocksize;
            packed = new byte[n * k / 2];
            random.nextBytes(packed);
            int blocks = n * k / blocksize;
            absmax = new float[blocks];
            for (int i = 0; i < blocks; i++) {
                absmax[i] = (float) Math.scalb(random.nextDouble(0.5, 1.0), random.nextInt(-6, 2));
            }
            qabs = new byte[blocks];
            random.nextBytes(qabs);
            nestedAbsmax = new float[Math.ceilDiv(blocks, nestedBlocksize)];
            for (int i = 0; i < nestedAbsmax.length; i++) {
                nestedAbsmax[i] = (float) random.nextDouble(0.01, 0.1);
            }
            offset = (float) random.nextDouble(0.01, 0.2);
        }

        int code(long element) {
            int b = packed[(int) (element / 2)] & 0xFF;
            return element % 2 == 0 ? b >>> 4 : b & 0x0F;
        }

        /** The block's absmax, in float32 arithmetic as bitsandbytes computes it (product, then sum, rounded). */
        float scale(long element) {
            int block = (int) (element / blocksize);
            if (!doubleQuant) {
                return absmax[block];
            }
            float product = DynamicMap.table()[qabs[block] & 0xFF] * nestedAbsmax[block / nestedBlocksize];
            return product + offset;
        }

        MatvecKernels.Nf4 upload(Context context, List<DeviceBuffer> owned) {
            DeviceBuffer p = KernelTests.upload(context, packed);
            DeviceBuffer a = doubleQuant ? KernelTests.upload(context, qabs) : KernelTests.upload(context, absmax);
            owned.add(p);
            owned.add(a);
            DeviceBuffer nested = null, map = null;
            if (doubleQuant) {
                nested = KernelTests.upload(context, nestedAbsmax);
                map = KernelTests.upload(context, DynamicMap.table());
                owned.add(nested);
                owned.add(map);
            }
            return new MatvecKernels.Nf4(p, a, nested, map, offset, n, blocksize, doubleQuant, nestedBlocksize);
        }

        /**
         * [0]: the kernel's math exactly, sum over 64-element runs of absmax * sum bf16(NF4[c]) x; [1]: its
         * magnitude; [2]: bitsandbytes' dequantized sum, sum bf16(NF4[c] * absmax) x; [3]: its magnitude.
         */
        double[] sums(short[] x, int ldx, int b, int j) {
            double[] out = new double[4];
            float[] table = Nf4.table();
            for (int run = 0; run < k / 64; run++) {
                double partial = 0, partialMagnitude = 0;
                float s = scale((long) j * k + run * 64);
                for (int i = 0; i < 64; i++) {
                    int kk = run * 64 + i;
                    int c = code((long) j * k + kk);
                    double xv = bf16(x[b * ldx + kk]);
                    double t = bf16(toBf16(table[c])) * xv;
                    partial += t;
                    partialMagnitude += Math.abs(t);
                    double wBnb = bf16(toBf16(table[c] * s));
                    out[2] += wBnb * xv;
                    out[3] += Math.abs(wBnb * xv);
                }
                out[0] += s * partial;
                out[1] += Math.abs(s) * partialMagnitude;
            }
            return out;
        }
    }

    @ParameterizedTest
    @CsvSource({
        // batch, n, k, blocksize, double quant
        "1,50,512,64,false", "1,50,512,64,true", "7,16,1024,128,true", "12,33,4096,64,true", "16,300,256,256,false",
        "9,17,14336,64,true"})
    void nf4ProductMatchesItsMathAndBitsandbytesDequantization(int batch, int n, int k, int blocksize, boolean dq) {
        int ldx = k + 16, ldy = n + 2;
        Nf4Case w = new Nf4Case(n, k, blocksize, dq, 256);
        short[] x = KernelTests.randomBf16(random, batch * ldx, 1.0);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        List<DeviceBuffer> owned = new ArrayList<>();
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer y = KernelTests.poisonedBf16(context, stream, (long) (batch + 1) * ldy)) {
            kernels.multiply(stream, MatvecKernels.Mode.STORE, dx, ldx, batch, k,
                    List.of(new MatvecKernels.Segment(w.upload(context, owned), y, null)), ldy, null);
            stream.synchronize();
            short[] got = KernelTests.downloadBf16(y, (batch + 1) * ldy);
            checkBf16(got, batch, n, ldy, batch + 1, (b, j, v) -> {
                double[] s = w.sums(x, ldx, b, j);
                double bound = BF16_EPS * Math.abs(s[0]) + 1.01 * accBound(k, s[1]);
                KernelTests.assertWithin(s[0], v, bound, where("nf4 y", b, j, batch, n, k));
                // Against bitsandbytes' weights: each differs by at most two bf16 roundings of itself.
                double bnbBound = BF16_EPS * Math.abs(s[2]) + 2 * BF16_EPS * 1.01 * s[3] + 1.01 * accBound(k, s[1]);
                KernelTests.assertWithin(s[2], v, bnbBound, where("nf4 y vs bitsandbytes", b, j, batch, n, k));
            });
        } finally {
            owned.forEach(DeviceBuffer::close);
        }
    }

    /** NF4 gate and up in SwiGLU mode, and three NF4 segments in one launch, as the decode step runs them. */
    @ParameterizedTest
    @CsvSource({"1", "10"})
    void nf4SwigluAndSegments(int batch) {
        int k = 256, n = 48;
        Nf4Case gate = new Nf4Case(n, k, 64, true, 256), up = new Nf4Case(n, k, 64, true, 256);
        Nf4Case[] qkv = {new Nf4Case(64, k, 64, true, 256), new Nf4Case(16, k, 64, true, 256),
            new Nf4Case(16, k, 64, true, 256)};
        short[] x = KernelTests.randomBf16(random, batch * k, 1.0);
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        List<DeviceBuffer> owned = new ArrayList<>();
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer h = KernelTests.poisonedBf16(context, stream, (long) batch * n);
             DeviceBuffer y = KernelTests.poisonedBf16(context, stream, (long) batch * 96)) {
            kernels.multiply(stream, MatvecKernels.Mode.SWIGLU, dx, k, batch, k,
                    List.of(new MatvecKernels.Segment(gate.upload(context, owned), h, null),
                            new MatvecKernels.Segment(up.upload(context, owned), null, null)), n, null);
            List<MatvecKernels.Segment> segments = new ArrayList<>();
            int[] columns = {0, 64, 80};
            for (int s = 0; s < 3; s++) {
                segments.add(new MatvecKernels.Segment(qkv[s].upload(context, owned),
                        y.slice(2L * columns[s], y.bytes() - 2L * columns[s]), null));
            }
            kernels.multiply(stream, MatvecKernels.Mode.STORE, dx, k, batch, k, segments, 96, null);
            stream.synchronize();
            short[] gotH = KernelTests.downloadBf16(h, batch * n);
            short[] gotY = KernelTests.downloadBf16(y, batch * 96);
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < n; j++) {
                    double[] g = gate.sums(x, k, b, j), u = up.sums(x, k, b, j);
                    double eg = BF16_EPS * Math.abs(g[0]) + 1.01 * accBound(k, g[1]);
                    double eu = BF16_EPS * Math.abs(u[0]) + 1.01 * accBound(k, u[1]);
                    double silu = g[0] / (1 + Math.exp(-g[0]));
                    double exact = silu * u[0];
                    double eSilu = 1.1 * eg + BF16_EPS * (Math.abs(silu) + 1.1 * eg) + 0x1p-20 * Math.abs(g[0]);
                    double eProduct = eSilu * (Math.abs(u[0]) + eu) + Math.abs(silu) * eu;
                    KernelTests.assertWithin(exact, bf16(gotH[b * n + j]),
                            eProduct + BF16_EPS * (Math.abs(exact) + eProduct) + 1e-30,
                            where("nf4 h", b, j, batch, n, k));
                }
                for (int j = 0; j < 96; j++) {
                    int s = j < 64 ? 0 : j < 80 ? 1 : 2;
                    double[] sum = qkv[s].sums(x, k, b, j - columns[s]);
                    KernelTests.assertWithin(sum[0], bf16(gotY[b * 96 + j]),
                            BF16_EPS * Math.abs(sum[0]) + 1.01 * accBound(k, sum[1]),
                            where("nf4 qkv", b, j, batch, 96, k));
                }
            }
        } finally {
            owned.forEach(DeviceBuffer::close);
        }
    }

    @ParameterizedTest
    @CsvSource({"1,8,264", "16,16,1024", "3,4,4104"})
    void loraDownProducts(int batch, int rank, int k) {
        int ldx = k + 8, ldxa = 3 * rank + 1;
        short[] x = KernelTests.randomBf16(random, batch * ldx, 1.0);
        float[][] a = {KernelTests.randomFloats(random, rank * k, 0.1), null,
            KernelTests.randomFloats(random, rank * k, 0.1)};
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dx = KernelTests.upload(context, x);
             DeviceBuffer a0 = KernelTests.upload(context, a[0]);
             DeviceBuffer a2 = KernelTests.upload(context, a[2]);
             DeviceBuffer xa = KernelTests.poisonedFloats(context, stream, (long) batch * ldxa)) {
            kernels.loraDown(stream, dx, ldx, batch, k, new DeviceBuffer[] {a0, null, a2}, rank, xa, ldxa);
            stream.synchronize();
            float[] got = KernelTests.downloadFloats(xa, batch * ldxa);
            for (int b = 0; b < batch; b++) {
                for (int c = 0; c < ldxa; c++) {
                    float v = got[b * ldxa + c];
                    int s = c / rank;
                    if (s >= 3 || a[s] == null) {
                        assertEquals(KernelTests.POISON_F32, Float.floatToRawIntBits(v),
                                "xa [" + b + ", " + c + "] of a skipped segment was written, seed " + seed);
                        continue;
                    }
                    double exact = 0, magnitude = 0;
                    for (int kk = 0; kk < k; kk++) {
                        double t = (double) bf16(x[b * ldx + kk]) * a[s][(c % rank) * k + kk];
                        exact += t;
                        magnitude += Math.abs(t);
                    }
                    KernelTests.assertWithin(exact, v, (k / 1024.0 + 16) * 0x1p-23 * magnitude * 4,
                            where("xa", b, c, batch, 3 * rank, k));
                }
            }
        }
    }

    @Test
    void refusesWhatItCannotRun() {
        Context context = KernelTests.context();
        MatvecKernels kernels = new MatvecKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer x = context.allocate(2 * 17 * 64);
             DeviceBuffer w = context.allocate(2 * 64 * 64);
             DeviceBuffer y = context.allocate(2 * 17 * 64)) {
            var segment = List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(w, 64), y, null));
            var error = assertThrows(IllegalArgumentException.class,
                    () -> kernels.multiply(stream, MatvecKernels.Mode.STORE, x, 64, 17, 64, segment, 64, null));
            assertTrue(error.getMessage().contains("1 to 16"), error.getMessage());
            error = assertThrows(IllegalArgumentException.class,
                    () -> kernels.multiply(stream, MatvecKernels.Mode.STORE, x, 64, 1, 64,
                            List.of(new MatvecKernels.Segment(new MatvecKernels.Bf16(w, 65), y, null)), 65, null));
            assertTrue(error.getMessage().contains("W of segment 0"),
                    error.getMessage());
        }
    }

    private String where(String what, int b, int j, int batch, int n, int k) {
        return what + "[" + b + ", " + j + "] of " + batch + " x " + n + " (k " + k + "), seed " + seed;
    }
}

package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

import java.util.List;

/**
 * The matrix-vector products of a decode step ({@code decode_matvec.ptx}): {@code y = x·Wᵀ} for 1 to 16 rows of
 * x against up to three weight matrices that share the input (q, k and v; gate and up), with W dense bf16 or NF4
 * as bitsandbytes packs it, each weight read once, and the step's element-wise work done at the end: LoRA's up
 * projection, the residual add, SwiGLU, or float32 logits.
 */
public final class MatvecKernels {
    /** Rows of x one launch multiplies: the n dimension of the tensor-core products (two of 8). */
    public static final int MAX_BATCH = 16;
    /** Output features per block. */
    private static final int TILE = 16;
    private static final int THREADS = 256;
    private static final int MAX_SEGMENTS = 3;
    /** Elements of one NF4 run (a whole quantization block or part of one). */
    private static final int NF4_RUN = 64;

    /** What a launch does with each product once it is complete. */
    public enum Mode {
        /** y = bf16(x·Wᵀ (+ LoRA)). */
        STORE(0),
        /** y = bf16(y + bf16(x·Wᵀ (+ LoRA))), in place: the residual add after o_proj and down_proj. */
        RESIDUAL_ADD(1),
        /** Two segments, gate then up: y of the gate = bf16(bf16(silu(g)) · u). */
        SWIGLU(2),
        /** y = x·Wᵀ as float32, unrounded: the LM head's logits. */
        FLOAT_OUTPUT(3);

        private final int code;

        Mode(int code) {
            this.code = code;
        }
    }

    /** A weight matrix [n, k] as the device holds it. */
    public sealed interface Weight permits Bf16, Nf4 {
        /** Output features (rows). */
        int n();
    }

    /** Dense bf16, row-major [n, k]. */
    public record Bf16(DeviceBuffer w, int n) implements Weight {}

    /**
     * NF4 codes as bitsandbytes packs them ([n, k] row-major, two codes a byte, the even element in the high
     * nibble) with their absmax: float32 per block, or (doubleQuant) one byte per block decoded through
     * {@code nestedMap} (256 float32) and {@code nestedAbsmax} (float32 per {@code nestedBlocksize} blocks), plus
     * {@code offset}.
     */
    public record Nf4(DeviceBuffer packed, DeviceBuffer absmax, DeviceBuffer nestedAbsmax, DeviceBuffer nestedMap,
                      float offset, int n, int blocksize, boolean doubleQuant, int nestedBlocksize) implements Weight {}

    /**
     * One matrix of a launch: its weight, its output (null for SwiGLU's up, which writes into the gate's), and its
     * LoRA up matrix B (float32 [n, rank]) or null.
     */
    public record Segment(Weight weight, DeviceBuffer y, DeviceBuffer loraB) {}

    /**
     * The adapters' down products of the launch's input, float32 [batch, ldxa]: segment s reads columns
     * {@code [s·rank, (s+1)·rank)} (see {@link #loraDown}); the term added is {@code scaling · xa·Bᵀ}.
     */
    public record Lora(DeviceBuffer xa, int ldxa, int rank, float scaling) {}

    private final Kernel bf16;
    private final Kernel nf4;
    private final Kernel down;

    public MatvecKernels(Context context) {
        this.bf16 = context.module("decode_matvec").kernel("matvec_bf16");
        this.nf4 = context.module("decode_matvec").kernel("matvec_nf4");
        this.down = context.module("decode_matvec").kernel("lora_down_f32");
    }

    /**
     * {@code y_s[b, j] = x[b]·W_s[j]} for batch rows b < {@code batch} (x rows {@code ldx} elements apart, bf16,
     * {@code k} long) and every segment s, combined as {@code mode} says; y rows are {@code ldy} elements apart.
     * {@code lora} is null to skip every adapter (segments' loraB are then ignored).
     */
    public void multiply(Stream stream, Mode mode, DeviceBuffer x, int ldx, int batch, int k, List<Segment> segments,
                         int ldy, Lora lora) {
        String name = "matvec " + mode;
        checkCommon(name, mode, x, ldx, batch, k, segments, ldy, lora);
        Weight first = segments.get(0).weight();
        Object[] args = first instanceof Bf16 ? bf16Arguments(name, mode, x, ldx, batch, k, segments, ldy, lora)
                : nf4Arguments(name, mode, x, ldx, batch, k, segments, ldy, lora);
        int tiles = 0;
        for (Segment s : mode == Mode.SWIGLU ? segments.subList(0, 1) : segments) {
            tiles += (s.weight().n() + TILE - 1) / TILE;
        }
        (first instanceof Bf16 ? bf16 : nf4).launch(stream, LaunchShape.of(tiles, THREADS), args);
    }

    /**
     * {@code xa[b, s·rank + i] = x[b]·A_s[i]} (float32) for the non-null A_s (float32 [rank, k]) of {@code a}
     * (1 to 3 matrices, one per segment of the {@link #multiply} that uses xa).
     */
    public void loraDown(Stream stream, DeviceBuffer x, int ldx, int batch, int k, DeviceBuffer[] a, int rank,
                         DeviceBuffer xa, int ldxa) {
        String name = "lora down";
        Checks.positive(name, "rank", rank);
        checkRows(name, batch, k, ldx);
        Checks.multipleOf(name, "k", k, 8);
        if (a.length < 1 || a.length > MAX_SEGMENTS) {
            throw new IllegalArgumentException(name + ": " + a.length + " A matrices; 1 to " + MAX_SEGMENTS);
        }
        Checks.buffer(name, "x", x, 2 * ((long) (batch - 1) * ldx + k), 16);
        if (ldxa < a.length * rank) {
            throw new IllegalArgumentException(name + ": ldxa = " + ldxa + " is less than the " + a.length * rank
                    + " columns of xa");
        }
        Checks.buffer(name, "xa", xa, 4 * ((long) (batch - 1) * ldxa + (long) a.length * rank), 4);
        Object[] pointers = new Object[MAX_SEGMENTS];
        for (int s = 0; s < MAX_SEGMENTS; s++) {
            if (s < a.length && a[s] != null) {
                Checks.buffer(name, "A of segment " + s, a[s], 4L * rank * k, 16);
                pointers[s] = a[s];
            } else {
                pointers[s] = 0L;
            }
        }
        down.launch(stream, new LaunchShape(a.length * rank, batch, 1, THREADS, 1, 1, 0), x, ldx, k, pointers[0],
                pointers[1], pointers[2], rank, xa, ldxa);
    }

    private static void checkCommon(String name, Mode mode, DeviceBuffer x, int ldx, int batch, int k,
                                    List<Segment> segments, int ldy, Lora lora) {
        checkRows(name, batch, k, ldx);
        Checks.multipleOf(name, "k", k, 8);
        Checks.buffer(name, "x", x, 2 * ((long) (batch - 1) * ldx + k), 16);
        if (segments.isEmpty() || segments.size() > MAX_SEGMENTS) {
            throw new IllegalArgumentException(name + ": " + segments.size() + " segments; 1 to " + MAX_SEGMENTS);
        }
        Class<?> format = segments.get(0).weight().getClass();
        for (Segment s : segments) {
            if (s.weight().getClass() != format) {
                throw new IllegalArgumentException(name + ": segments mix " + format.getSimpleName() + " and "
                        + s.weight().getClass().getSimpleName() + " weights; one launch takes one format");
            }
            Checks.positive(name, "n", s.weight().n());
        }
        if (mode == Mode.SWIGLU) {
            if (segments.size() != 2 || segments.get(0).weight().n() != segments.get(1).weight().n()) {
                throw new IllegalArgumentException(name + ": SwiGLU takes two segments of equal n (gate, up)");
            }
        }
        int elementBytes = mode == Mode.FLOAT_OUTPUT ? 4 : 2;
        for (int s = 0; s < segments.size(); s++) {
            Segment seg = segments.get(s);
            if (mode == Mode.SWIGLU && s == 1) {
                continue;                                   // up's result goes into the gate's output
            }
            if (ldy < seg.weight().n()) {
                throw new IllegalArgumentException(name + ": ldy = " + ldy + " is less than n = " + seg.weight().n());
            }
            Checks.buffer(name, "y of segment " + s, seg.y(),
                    elementBytes * ((long) (batch - 1) * ldy + seg.weight().n()), elementBytes);
        }
        if (lora != null) {
            Checks.positive(name, "LoRA rank", lora.rank());
            int columns = segments.size() * lora.rank();
            if (lora.ldxa() < columns) {
                throw new IllegalArgumentException(name + ": ldxa = " + lora.ldxa() + " is less than the " + columns
                        + " columns of xa");
            }
            Checks.buffer(name, "xa", lora.xa(), 4 * ((long) (batch - 1) * lora.ldxa() + columns), 4);
            for (int s = 0; s < segments.size(); s++) {
                DeviceBuffer b = segments.get(s).loraB();
                if (b != null) {
                    Checks.buffer(name, "LoRA B of segment " + s, b, 4L * segments.get(s).weight().n() * lora.rank(),
                            4);
                }
            }
        }
    }

    private static void checkRows(String name, int batch, int k, int ldx) {
        if (batch < 1 || batch > MAX_BATCH) {
            throw new IllegalArgumentException(name + ": batch of " + batch + " rows; 1 to " + MAX_BATCH);
        }
        Checks.positive(name, "k", k);
        if (ldx < k) {
            throw new IllegalArgumentException(name + ": ldx = " + ldx + " is less than k = " + k);
        }
        Checks.multipleOf(name, "ldx", ldx, 8);
    }

    private static Object[] bf16Arguments(String name, Mode mode, DeviceBuffer x, int ldx, int batch, int k,
                                          List<Segment> segments, int ldy, Lora lora) {
        Object[] args = new Object[22];
        args[0] = x;
        args[1] = ldx;
        args[2] = batch;
        args[3] = k;
        args[4] = mode.code;
        for (int s = 0; s < MAX_SEGMENTS; s++) {
            int at = 5 + 4 * s;
            if (s < segments.size()) {
                Segment seg = segments.get(s);
                Bf16 w = (Bf16) seg.weight();
                Checks.buffer(name, "W of segment " + s, w.w(), 2L * w.n() * k, 16);
                args[at] = w.w();
                args[at + 1] = output(seg);
                args[at + 2] = w.n();
                args[at + 3] = loraB(seg, lora);
            } else {
                args[at] = 0L;
                args[at + 1] = 0L;
                args[at + 2] = 0;
                args[at + 3] = 0L;
            }
        }
        tail(args, 17, ldy, lora);
        return args;
    }

    private static Object[] nf4Arguments(String name, Mode mode, DeviceBuffer x, int ldx, int batch, int k,
                                         List<Segment> segments, int ldy, Lora lora) {
        Nf4 first = (Nf4) segments.get(0).weight();
        if (first.blocksize() < NF4_RUN || Integer.bitCount(first.blocksize()) != 1) {
            throw new IllegalArgumentException(name + ": NF4 block size " + first.blocksize() + " is not supported;"
                    + " the decode product needs a power of two of at least " + NF4_RUN);
        }
        Checks.multipleOf(name, "k (a whole number of NF4 blocks per row)", k, first.blocksize());
        if (first.doubleQuant() && (first.nestedBlocksize() < 1 || Integer.bitCount(first.nestedBlocksize()) != 1)) {
            throw new IllegalArgumentException(name + ": nested block size " + first.nestedBlocksize()
                    + " is not a power of two");
        }
        Object[] args = new Object[35];
        args[0] = x;
        args[1] = ldx;
        args[2] = batch;
        args[3] = k;
        args[4] = mode.code;
        for (int s = 0; s < MAX_SEGMENTS; s++) {
            int at = 5 + 7 * s;
            if (s < segments.size()) {
                Segment seg = segments.get(s);
                Nf4 w = (Nf4) seg.weight();
                if (w.blocksize() != first.blocksize() || w.doubleQuant() != first.doubleQuant()
                        || (w.doubleQuant() && w.nestedBlocksize() != first.nestedBlocksize())) {
                    throw new IllegalArgumentException(name + ": segment " + s + " is quantized with other block"
                            + " sizes than segment 0; one launch takes one quantization layout");
                }
                long elements = (long) w.n() * k;
                long blocks = elements / w.blocksize();
                Checks.buffer(name, "NF4 codes of segment " + s, w.packed(), elements / 2, 16);
                if (w.doubleQuant()) {
                    Checks.buffer(name, "absmax codes of segment " + s, w.absmax(), blocks, 1);
                    Checks.buffer(name, "nested absmax of segment " + s, w.nestedAbsmax(),
                            4 * Math.ceilDiv(blocks, w.nestedBlocksize()), 4);
                    Checks.buffer(name, "nested map of segment " + s, w.nestedMap(), 4 * 256, 4);
                } else {
                    Checks.buffer(name, "absmax of segment " + s, w.absmax(), 4 * blocks, 4);
                }
                args[at] = w.packed();
                args[at + 1] = w.absmax();
                args[at + 2] = w.doubleQuant() ? w.nestedAbsmax() : (Object) 0L;
                args[at + 3] = w.doubleQuant() ? w.offset() : 0f;
                args[at + 4] = output(seg);
                args[at + 5] = w.n();
                args[at + 6] = loraB(seg, lora);
            } else {
                args[at] = 0L;
                args[at + 1] = 0L;
                args[at + 2] = 0L;
                args[at + 3] = 0f;
                args[at + 4] = 0L;
                args[at + 5] = 0;
                args[at + 6] = 0L;
            }
        }
        tail(args, 26, ldy, lora);
        // bitsandbytes' nested map is one table (its dynamic map) for every tensor: segment 0's serves all.
        args[31] = first.doubleQuant() ? first.nestedMap() : (Object) 0L;
        args[32] = Integer.numberOfTrailingZeros(first.blocksize());
        args[33] = first.doubleQuant() ? Integer.numberOfTrailingZeros(first.nestedBlocksize()) : 0;
        args[34] = first.doubleQuant() ? 1 : 0;
        return args;
    }

    private static Object output(Segment seg) {
        return seg.y() == null ? (Object) 0L : seg.y();
    }

    private static Object loraB(Segment seg, Lora lora) {
        return lora == null || seg.loraB() == null ? (Object) 0L : seg.loraB();
    }

    /** ldy, xa, ldxa, rank, scaling from {@code at}. */
    private static void tail(Object[] args, int at, int ldy, Lora lora) {
        args[at] = ldy;
        args[at + 1] = lora == null ? (Object) 0L : lora.xa();
        args[at + 2] = lora == null ? 0 : lora.ldxa();
        args[at + 3] = lora == null ? 0 : lora.rank();
        args[at + 4] = lora == null ? 0f : lora.scaling();
    }
}

package org.jtune.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * AdamW (as torch.optim.AdamW) over many float32 tensors in one launch, and the global gradient norm
 * with its clipping scale computed on the device, so no step needs a host round trip ({@code adamw.ptx}).
 */
public final class AdamWKernels {
    /** Threads per block; grad_sumsq_f32 relies on 256. */
    private static final int BLOCK = 256;
    /** Blocks per tensor at most: enough to spread one large tensor over the GPU. */
    private static final int MAX_BLOCKS_PER_TENSOR = 64;
    private static final int ENTRY_BYTES = 40;
    /** Elements of one chunk of the gradient norm's work list (grad_sumsq_f32 hard-codes it). */
    static final int NORM_CHUNK = 8192;
    /**
     * Blocks of the gradient norm's first pass, at most: about one resident wave on a large GPU, and a
     * constant, so that the order of the additions does not depend on the device.
     */
    static final int NORM_BLOCKS = 1024;
    private static final int MAX_TENSORS = 65_535;

    private final Kernel step;
    private final Kernel sumSquares;
    private final Kernel finalizeNorm;

    public AdamWKernels(Context context) {
        this.step = context.module("adamw").kernel("adamw_step_f32");
        this.sumSquares = context.module("adamw").kernel("grad_sumsq_f32");
        this.finalizeNorm = context.module("adamw").kernel("grad_norm_finalize_f32");
    }

    /** One trained tensor: float32 parameter, gradient and the two moments, {@code count} elements each. */
    public record Tensor(DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v, long count) {}

    /** AdamW hyper-parameters, named as in torch.optim.AdamW. */
    public record Hyper(double lr, double beta1, double beta2, double eps, double weightDecay) {}

    /** The tensors of one optimizer in device memory, with the workspace of the norm. */
    public static final class TensorTable implements AutoCloseable {
        private final DeviceBuffer table;
        private final DeviceBuffer chunkList;
        private final DeviceBuffer partials;
        private final int tensors;
        private final int blocksPerTensor;
        private final int chunks;

        private TensorTable(DeviceBuffer table, DeviceBuffer chunkList, DeviceBuffer partials, int tensors,
                            int blocksPerTensor, int chunks) {
            this.table = table;
            this.chunkList = chunkList;
            this.partials = partials;
            this.tensors = tensors;
            this.blocksPerTensor = blocksPerTensor;
            this.chunks = chunks;
        }

        public int tensors() {
            return tensors;
        }

        /** Blocks of the gradient norm's first pass: one partial sum each. */
        int normBlocks() {
            return Math.min(NORM_BLOCKS, chunks);
        }

        @Override
        public void close() {
            table.close();
            chunkList.close();
            partials.close();
        }
    }

    /** Uploads the table of {@code tensors}; checks every buffer against its count. */
    public static TensorTable table(Context context, List<Tensor> tensors) {
        String name = "adamw table";
        if (tensors.isEmpty() || tensors.size() > MAX_TENSORS) {
            throw new IllegalArgumentException(name + ": needs 1 to " + MAX_TENSORS + " tensors, got " + tensors.size());
        }
        long largest = 0;
        long chunks = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate((long) ENTRY_BYTES * tensors.size(), 8);
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                String which = name + " tensor " + i;
                Checks.positive(which, "count", t.count());
                Checks.buffer(which, "param", t.param(), 4 * t.count(), 4);
                Checks.buffer(which, "grad", t.grad(), 4 * t.count(), 4);
                Checks.buffer(which, "m", t.m(), 4 * t.count(), 4);
                Checks.buffer(which, "v", t.v(), 4 * t.count(), 4);
                long at = (long) ENTRY_BYTES * i;
                host.set(ValueLayout.JAVA_LONG, at, t.param().address());
                host.set(ValueLayout.JAVA_LONG, at + 8, t.grad().address());
                host.set(ValueLayout.JAVA_LONG, at + 16, t.m().address());
                host.set(ValueLayout.JAVA_LONG, at + 24, t.v().address());
                host.set(ValueLayout.JAVA_LONG, at + 32, t.count());
                largest = Math.max(largest, t.count());
                chunks += (t.count() + NORM_CHUNK - 1) / NORM_CHUNK;
            }
            if (chunks > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + ": " + chunks + " chunks of " + NORM_CHUNK
                        + " elements exceed 2^31-1");
            }
            MemorySegment chunkEntries = arena.allocate(8 * chunks, 8);
            long chunkAt = 0;
            for (int i = 0; i < tensors.size(); i++) {
                for (long c = 0; c * NORM_CHUNK < tensors.get(i).count(); c++) {
                    chunkEntries.set(ValueLayout.JAVA_INT, chunkAt, i);
                    chunkEntries.set(ValueLayout.JAVA_INT, chunkAt + 4, (int) c);
                    chunkAt += 8;
                }
            }
            int blocksPerTensor = (int) Math.min(MAX_BLOCKS_PER_TENSOR, LaunchShape.blocksFor(largest, BLOCK * 4));
            int normBlocks = (int) Math.min(NORM_BLOCKS, chunks);
            DeviceBuffer table = context.allocate(host.byteSize());
            DeviceBuffer chunkList = null;
            try {
                table.copyFromHost(host);
                chunkList = context.allocate(chunkEntries.byteSize());
                chunkList.copyFromHost(chunkEntries);
                DeviceBuffer partials = context.allocate(4L * normBlocks);
                return new TensorTable(table, chunkList, partials, tensors.size(), blocksPerTensor, (int) chunks);
            } catch (RuntimeException e) {
                table.close();
                if (chunkList != null) {
                    chunkList.close();
                }
                throw e;
            }
        }
    }

    /**
     * One AdamW step (number {@code stepNumber}, from 1) over every tensor of the table. Gradients are
     * multiplied by the float at {@code gradScale} (e.g. {@link #gradNorm}'s clipping scale, result + 4
     * bytes: pass {@link #clipScaleAddress}) or used as they are when {@code gradScaleAddress} is 0.
     */
    public void step(Stream stream, TensorTable table, long gradScaleAddress, Hyper hyper, int stepNumber) {
        if (stepNumber < 1) {
            throw new IllegalArgumentException("adamw step: step number must be at least 1, got " + stepNumber);
        }
        if (!(hyper.lr() >= 0 && hyper.beta1() >= 0 && hyper.beta1() < 1 && hyper.beta2() >= 0 && hyper.beta2() < 1
                && hyper.eps() >= 0 && hyper.weightDecay() >= 0)) {
            throw new IllegalArgumentException("adamw step: invalid hyper-parameters " + hyper);
        }
        // The scalars torch derives from the hyper-parameters in Python (double), used as float32.
        double bc1 = 1 - Math.pow(hyper.beta1(), stepNumber);
        double bc2 = 1 - Math.pow(hyper.beta2(), stepNumber);
        float decay = (float) (1 - hyper.lr() * hyper.weightDecay());
        float stepSize = (float) (hyper.lr() / bc1);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        step.launch(stream, shape(table), table.table, table.tensors, gradScaleAddress, decay,
                (float) (1 - hyper.beta1()), (float) hyper.beta2(), (float) (1 - hyper.beta2()), bc2Sqrt,
                (float) hyper.eps(), stepSize);
    }

    /**
     * Writes the global L2 norm of all gradients of the table to {@code result}[0] and the clipping
     * scale min(1, maxNorm / (norm + 1e-6)) to {@code result}[1] (1 when maxNorm <= 0), as float32.
     */
    public void gradNorm(Stream stream, TensorTable table, DeviceBuffer result, float maxNorm) {
        Checks.buffer("grad norm", "result", result, 8, 4);
        sumSquares.launch(stream, LaunchShape.of(table.normBlocks(), BLOCK), table.table, table.chunkList, table.chunks,
                table.partials);
        finalizeNorm.launch(stream, LaunchShape.of(1, 1024), table.partials, table.normBlocks(), result, maxNorm);
    }

    /** The device address of the clipping scale that {@link #gradNorm} writes into {@code result}. */
    public static long clipScaleAddress(DeviceBuffer result) {
        return result.address() + 4;
    }

    private static LaunchShape shape(TensorTable table) {
        return new LaunchShape(table.blocksPerTensor, table.tensors, 1, BLOCK, 1, 1, 0);
    }
}

package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;
import org.jtune.kernels.AdamWKernels;
import org.jtune.kernels.ElementwiseKernels;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The LoRA state in device memory. The fp32 matrices are the master weights AdamW updates; after each update they
 * are rounded once into bf16 copies, which the GEMMs read (they take bf16 operands; PEFT's bf16 training rounds the
 * same way). Gradients and moments are fp32. Every kind lives in one contiguous region, in the same element order
 * (layer by layer, targets in {@link LoraTarget} order, A then B), so that zeroing the gradients, rounding the
 * copies and the optimizer each cover all adapters in one launch.
 */
final class DeviceLora {
    /** Elements per AdamW table entry: one entry per 64 blocks of 1024 elements spreads the update over the GPU. */
    private static final long OPTIMIZER_CHUNK = 1 << 16;

    /** One adapted projection: A [r, in] and B [out, r], as fp32 masters, bf16 copies and fp32 gradients. */
    record Adapter(DeviceBuffer a, DeviceBuffer b, DeviceBuffer aBf16, DeviceBuffer bBf16, DeviceBuffer gradA,
                   DeviceBuffer gradB) {}

    private record Placement(int layer, LoraTarget target, long aOffset, long aCount, long bOffset, long bCount) {}

    final LoraConfig config;
    final long count;
    private final DeviceBuffer params, grads, firstMoments, secondMoments, paramsBf16;
    private final List<Placement> placements = new ArrayList<>();
    private final Adapter[][] adapters;

    DeviceLora(MemoryCarver carver, ModelConfig model, LoraConfig config) {
        this.config = config;
        int r = config.rank();
        adapters = new Adapter[model.numLayers()][LoraTarget.values().length];
        long next = 0;
        for (int l = 0; l < model.numLayers(); l++) {
            for (LoraTarget t : LoraTarget.values()) {
                if (config.targets().contains(t)) {
                    long aCount = (long) r * t.inFeatures(model), bCount = (long) t.outFeatures(model) * r;
                    placements.add(new Placement(l, t, next, aCount, next + aCount, bCount));
                    next += aCount + bCount;
                }
            }
        }
        count = next;
        params = carver.take(MemoryUse.LORA, "LoRA matrices (fp32)", 4 * count);
        paramsBf16 = carver.take(MemoryUse.LORA, "LoRA matrices (bf16 copies)", 2 * count);
        grads = carver.take(MemoryUse.LORA, "LoRA gradients (fp32)", 4 * count);
        firstMoments = carver.take(MemoryUse.LORA, "AdamW first moments", 4 * count);
        secondMoments = carver.take(MemoryUse.LORA, "AdamW second moments", 4 * count);
        for (Placement p : placements) {
            adapters[p.layer][p.target.ordinal()] = new Adapter(
                    MemoryCarver.part(params, 4 * p.aOffset, 4 * p.aCount),
                    MemoryCarver.part(params, 4 * p.bOffset, 4 * p.bCount),
                    MemoryCarver.part(paramsBf16, 2 * p.aOffset, 2 * p.aCount),
                    MemoryCarver.part(paramsBf16, 2 * p.bOffset, 2 * p.bCount),
                    MemoryCarver.part(grads, 4 * p.aOffset, 4 * p.aCount),
                    MemoryCarver.part(grads, 4 * p.bOffset, 4 * p.bCount));
        }
    }

    /** The adapter of one projection, or null if it is not adapted. */
    Adapter adapter(int layer, LoraTarget target) {
        return adapters[layer][target.ordinal()];
    }

    /** Copies the host matrices to the fp32 masters and their bf16 copies; zeroes gradients and moments. */
    void upload(LoraAdapters host, Stream stream, ElementwiseKernels elementwise) {
        requireSameConfig(host);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4 * count, 16);
            for (Placement p : placements) {
                LoraAdapters.Adapter h = host.adapter(p.layer, p.target);
                MemorySegment.copy(h.a().segment(), 0, staging, 4 * p.aOffset, 4 * p.aCount);
                MemorySegment.copy(h.b().segment(), 0, staging, 4 * p.bOffset, 4 * p.bCount);
            }
            stream.synchronize();
            params.copyFromHost(staging);
        }
        // A copy from pageable memory may still be in flight on return, and the step's stream does not wait for
        // it: wait for the whole context before the stream reads the matrices.
        stream.context().synchronize();
        grads.fillBytesAsync(0, stream);
        firstMoments.fillBytesAsync(0, stream);
        secondMoments.fillBytesAsync(0, stream);
        roundCopies(stream, elementwise);
        stream.synchronize();
    }

    /** Sets matrices, copies, gradients and moments to zero. */
    void zero(Stream stream, ElementwiseKernels elementwise) {
        params.fillBytesAsync(0, stream);
        grads.fillBytesAsync(0, stream);
        firstMoments.fillBytesAsync(0, stream);
        secondMoments.fillBytesAsync(0, stream);
        roundCopies(stream, elementwise);
    }

    /** Copies the fp32 masters into the host adapters' matrices (waits for the stream first). */
    void downloadMatrices(LoraAdapters host, Stream stream) {
        download(host, stream, params, LoraAdapters.Adapter::a, LoraAdapters.Adapter::b);
    }

    /** Copies the fp32 gradients into the host adapters' gradient tensors (waits for the stream first). */
    void downloadGradients(LoraAdapters host, Stream stream) {
        download(host, stream, grads, LoraAdapters.Adapter::gradA, LoraAdapters.Adapter::gradB);
    }

    private void download(LoraAdapters host, Stream stream, DeviceBuffer source,
                          Function<LoraAdapters.Adapter, Tensor> a, Function<LoraAdapters.Adapter, Tensor> b) {
        requireSameConfig(host);
        stream.synchronize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4 * count, 16);
            source.copyToHost(staging);
            for (Placement p : placements) {
                LoraAdapters.Adapter h = host.adapter(p.layer, p.target);
                MemorySegment.copy(staging, 4 * p.aOffset, a.apply(h).segment(), 0, 4 * p.aCount);
                MemorySegment.copy(staging, 4 * p.bOffset, b.apply(h).segment(), 0, 4 * p.bCount);
            }
        }
    }

    /**
     * Copies the AdamW moments into host tensors, one per LoRA matrix in the order of {@link LoraAdapters#names()}
     * (layer by layer, targets in {@link LoraTarget} order, A then B: the order of the device regions). Waits for
     * the stream first; the staging copy is taken here, at checkpoint time, never during a step.
     */
    void downloadMoments(List<Tensor> first, List<Tensor> second, Stream stream) {
        requireMomentTensors(first, "first");
        requireMomentTensors(second, "second");
        stream.synchronize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4 * count, 16);
            firstMoments.copyToHost(staging);
            scatter(staging, first);
            secondMoments.copyToHost(staging);
            scatter(staging, second);
        }
    }

    /** Copies host moments (as {@link #downloadMoments} gives them) to the device. */
    void uploadMoments(List<Tensor> first, List<Tensor> second, Stream stream) {
        requireMomentTensors(first, "first");
        requireMomentTensors(second, "second");
        stream.synchronize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4 * count, 16);
            gather(first, staging);
            firstMoments.copyFromHost(staging);
            gather(second, staging);
            secondMoments.copyFromHost(staging);
        }
        // As in upload: a copy from pageable memory may still be in flight on return.
        stream.context().synchronize();
    }

    private void scatter(MemorySegment staging, List<Tensor> tensors) {
        for (int i = 0; i < placements.size(); i++) {
            Placement p = placements.get(i);
            MemorySegment.copy(staging, 4 * p.aOffset, tensors.get(2 * i).segment(), 0, 4 * p.aCount);
            MemorySegment.copy(staging, 4 * p.bOffset, tensors.get(2 * i + 1).segment(), 0, 4 * p.bCount);
        }
    }

    private void gather(List<Tensor> tensors, MemorySegment staging) {
        for (int i = 0; i < placements.size(); i++) {
            Placement p = placements.get(i);
            MemorySegment.copy(tensors.get(2 * i).segment(), 0, staging, 4 * p.aOffset, 4 * p.aCount);
            MemorySegment.copy(tensors.get(2 * i + 1).segment(), 0, staging, 4 * p.bOffset, 4 * p.bCount);
        }
    }

    /** One fp32 tensor per matrix, of its size: anything else would copy moments onto the wrong elements. */
    private void requireMomentTensors(List<Tensor> tensors, String which) {
        if (tensors.size() != 2 * placements.size()) {
            throw new IllegalArgumentException(tensors.size() + " " + which + "-moment tensors for "
                    + 2 * placements.size() + " LoRA matrices");
        }
        for (int i = 0; i < placements.size(); i++) {
            Placement p = placements.get(i);
            requireMoment(tensors.get(2 * i), p.aCount, which, p, "A");
            requireMoment(tensors.get(2 * i + 1), p.bCount, which, p, "B");
        }
    }

    private static void requireMoment(Tensor t, long count, String which, Placement p, String matrix) {
        if (t.dtype() != DType.F32 || t.size() != count) {
            throw new IllegalArgumentException(which + "-moment tensor of layer " + p.layer + " " + p.target + " "
                    + matrix + " is " + t + "; it needs " + count + " fp32 values");
        }
    }

    private void requireSameConfig(LoraAdapters host) {
        if (!host.config().equals(config)) {
            throw new IllegalArgumentException("host adapters are " + host.config() + " but the GPU step was built for "
                    + config);
        }
    }

    void zeroGradients(Stream stream) {
        grads.fillBytesAsync(0, stream);
    }

    /** Rounds the fp32 masters into the bf16 copies the GEMMs read. */
    void roundCopies(Stream stream, ElementwiseKernels elementwise) {
        elementwise.floatToBf16(stream, paramsBf16, params, count);
    }

    /** The optimizer's view of all matrices: the contiguous regions cut into entries of equal size. */
    AdamWKernels.TensorTable optimizerTable(Context context) {
        List<AdamWKernels.Tensor> entries = new ArrayList<>();
        for (long first = 0; first < count; first += OPTIMIZER_CHUNK) {
            long n = Math.min(OPTIMIZER_CHUNK, count - first);
            entries.add(new AdamWKernels.Tensor(params.slice(4 * first, 4 * n), grads.slice(4 * first, 4 * n),
                    firstMoments.slice(4 * first, 4 * n), secondMoments.slice(4 * first, 4 * n), n));
        }
        return AdamWKernels.table(context, entries);
    }
}

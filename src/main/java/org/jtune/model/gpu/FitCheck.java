package org.jtune.model.gpu;

import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Refuses, before anything is allocated, a training step whose memory plan exceeds the device's free memory. The
 * message says how much is needed, what it is for, and what each change (checkpointing, offloading, a 4-bit base,
 * a smaller micro-batch) would need, re-planned with that change.
 */
final class FitCheck {
    /** The bitsandbytes default a 4-bit load uses: block size 64, double quantization in blocks of 256. */
    private static final ProjectionFormat NF4_DEFAULT = new ProjectionFormat.Nf4(64, true, 256);

    private FitCheck() {}

    /** A planning input: everything that sizes the step. */
    record Request(ModelConfig config, BaseFormat format, LoraConfig lora, StepShape shape, Checkpointing mode) {
        MemoryPlan plan() {
            MemoryCarver carver = MemoryCarver.planning();
            new StepBuffers(carver, config, format, lora, shape, mode);
            return carver.plan(format.describe());
        }
    }

    /** Throws {@link IllegalStateException} saying what to change unless {@code plan} fits {@code freeBytes}. */
    static void require(Request request, MemoryPlan plan, long freeBytes) {
        if (plan.totalBytes() <= freeBytes) {
            return;
        }
        List<Change> changes = changes(request);
        StringBuilder message = new StringBuilder("the GPU training step needs ")
                .append(MemoryPlan.size(plan.totalBytes())).append(" of device memory but ")
                .append(MemoryPlan.size(freeBytes)).append(" is free (").append(plan.breakdown()).append(", for ")
                .append(request.shape().describe()).append(", gradient checkpointing ")
                .append(request.mode().name().toLowerCase(java.util.Locale.ROOT)).append(").");
        if (!changes.isEmpty()) {
            message.append(" Needed with one change:");
            boolean anyFits = false;
            for (Change c : changes) {
                long total = c.request().plan().totalBytes();
                boolean fits = total <= freeBytes;
                anyFits |= fits;
                message.append(' ').append(c.what()).append(": ").append(MemoryPlan.size(total))
                        .append(fits ? " (fits);" : ";");
            }
            message.setLength(message.length() - 1);
            message.append('.');
            if (!anyFits) {
                message.append(" None fits alone: combine them, or use a GPU with more free memory.");
            }
        }
        throw new IllegalStateException(message.toString());
    }

    private record Change(String what, Request request) {}

    private static List<Change> changes(Request r) {
        List<Change> changes = new ArrayList<>();
        if (r.mode() == Checkpointing.OFF) {
            changes.add(new Change("gradient checkpointing on", withMode(r, Checkpointing.ON)));
        }
        if (r.mode() != Checkpointing.OFFLOADED) {
            changes.add(new Change("checkpoints offloaded to host memory", withMode(r, Checkpointing.OFFLOADED)));
        }
        if (r.format().hasDense()) {
            changes.add(new Change("a 4-bit (NF4) base", new Request(r.config(), BaseFormat.uniform(r.config(),
                    NF4_DEFAULT), r.lora(), r.shape(), r.mode())));
        }
        StepShape s = r.shape();
        StepShape smaller = s.maxRows() > 1 ? new StepShape(s.maxRows() / 2, s.maxSeqLength(), s.microBatches())
                : s.maxSeqLength() > 1 ? new StepShape(1, s.maxSeqLength() / 2, s.microBatches()) : null;
        if (smaller != null) {
            changes.add(new Change(smaller.describe() + " (more gradient accumulation)",
                    new Request(r.config(), r.format(), r.lora(), smaller, r.mode())));
        }
        return changes;
    }

    private static Request withMode(Request r, Checkpointing mode) {
        return new Request(r.config(), r.format(), r.lora(), r.shape(), mode);
    }
}

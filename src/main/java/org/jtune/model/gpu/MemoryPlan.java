package org.jtune.model.gpu;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every device buffer of a GPU engine (a training step, or a decode engine), sized from the config and the largest
 * micro-batch (or the sequences and capacity of its cache) before anything is allocated: the regions of the one
 * allocation the engine carves, their totals by use, and the pinned host memory of offloaded checkpoints.
 *
 * @param regions        the buffers in allocation order, with their offsets in the allocation
 * @param totalBytes     bytes of the one device allocation (regions plus alignment)
 * @param pinnedHostBytes page-locked host memory for offloaded layer inputs; 0 unless offloading
 * @param weightsFormat  how the base projections are held, e.g. "nf4" or "bf16"
 */
public record MemoryPlan(List<Region> regions, long totalBytes, long pinnedHostBytes, String weightsFormat) {

    private static final double GIB = 1024.0 * 1024 * 1024;
    private static final double MIB = 1024.0 * 1024;

    /** One buffer: bytes {@code [offset, offset + bytes)} of the allocation. */
    public record Region(MemoryUse use, String name, long offset, long bytes) {}

    public MemoryPlan {
        regions = List.copyOf(regions);
    }

    /** Bytes of the regions of one use (alignment padding not included). */
    public long bytes(MemoryUse use) {
        return totals().get(use);
    }

    private Map<MemoryUse, Long> totals() {
        Map<MemoryUse, Long> totals = new EnumMap<>(MemoryUse.class);
        for (MemoryUse use : MemoryUse.values()) {
            totals.put(use, 0L);
        }
        for (Region r : regions) {
            totals.merge(r.use(), r.bytes(), Long::sum);
        }
        return totals;
    }

    /**
     * E.g. "weights 3.52 GiB nf4, LoRA 0.24 GiB, activations 2.10 GiB, workspace 1.00 GiB"; uses without memory
     * (other than the weights) are left out.
     */
    public String breakdown() {
        Map<MemoryUse, Long> totals = totals();
        StringBuilder line = new StringBuilder();
        for (MemoryUse use : MemoryUse.values()) {
            if (totals.get(use) == 0 && use != MemoryUse.WEIGHTS) {
                continue;                           // e.g. no cache in a training step, no LoRA in a base decoder
            }
            line.append(line.isEmpty() ? "" : ", ").append(use.label()).append(' ').append(size(totals.get(use)));
            if (use == MemoryUse.WEIGHTS) {
                line.append(' ').append(weightsFormat);
            }
        }
        if (pinnedHostBytes > 0) {
            line.append(", checkpoints offloaded to ").append(size(pinnedHostBytes)).append(" of pinned host memory");
        }
        return line.toString();
    }

    /** The report shown at start: the breakdown, the total and what the device has free. */
    public String line(long freeBytes) {
        return breakdown() + "; total " + size(totalBytes) + " of " + size(freeBytes) + " free";
    }

    /** GiB, or MiB below one GiB (small test models). */
    static String size(long bytes) {
        return bytes >= GIB ? String.format(Locale.ROOT, "%.2f GiB", bytes / GIB)
                : String.format(Locale.ROOT, "%.2f MiB", bytes / MIB);
    }
}

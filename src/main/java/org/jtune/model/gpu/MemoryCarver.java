package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * Hands out the step's device buffers in the order its parts declare them. Run once without memory it only sizes
 * them (every buffer it returns is null) and yields the {@link MemoryPlan}; run again over the one allocation of
 * that plan's size it returns slices at the same offsets. The same code thus both plans and carves, so the plan is
 * exact by construction.
 */
final class MemoryCarver {
    /** Offsets are kept 256-byte aligned: the kernels read 16-byte vectors and coalesce best on 256 bytes. */
    static final long ALIGNMENT = 256;

    private final DeviceBuffer allocation;
    private final List<MemoryPlan.Region> regions = new ArrayList<>();
    private long end;
    private long pinnedHostBytes;

    private MemoryCarver(DeviceBuffer allocation) {
        this.allocation = allocation;
    }

    /** A carver that only sizes. */
    static MemoryCarver planning() {
        return new MemoryCarver(null);
    }

    /** A carver that cuts slices of {@code allocation}, which must be as large as the plan made by planning. */
    static MemoryCarver carving(DeviceBuffer allocation) {
        return new MemoryCarver(allocation);
    }

    /** A buffer of {@code bytes} for {@code use}; null while planning. */
    DeviceBuffer take(MemoryUse use, String name, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device buffer \"" + name + "\" of " + bytes + " bytes");
        }
        long offset = align(end);
        regions.add(new MemoryPlan.Region(use, name, offset, bytes));
        end = offset + bytes;
        return allocation == null ? null : allocation.slice(offset, bytes);
    }

    /** A part of a buffer this carver returned: null while planning. */
    static DeviceBuffer part(DeviceBuffer buffer, long offset, long bytes) {
        return buffer == null ? null : buffer.slice(offset, bytes);
    }

    /** Records page-locked host memory the step will hold (offloaded checkpoints), for the plan's report. */
    void pinnedHost(long bytes) {
        pinnedHostBytes += bytes;
    }

    MemoryPlan plan(String weightsFormat) {
        return new MemoryPlan(regions, align(end), pinnedHostBytes, weightsFormat);
    }

    static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
}

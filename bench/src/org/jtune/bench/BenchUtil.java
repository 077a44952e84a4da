package org.jtune.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;

/** Small helpers the GPU benchmarks share. */
final class BenchUtil {
    private BenchUtil() {}

    /** The median of repeated measurements (the upper one for an even count). */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** A device buffer holding these ints. */
    static DeviceBuffer upload(Context context, int[] values) {
        DeviceBuffer buffer = context.allocate(4L * values.length);
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
        return buffer;
    }
}

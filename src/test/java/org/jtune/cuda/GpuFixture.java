package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Shared helpers of GPU tests: GPU 0's primary context, float transfers, poisoning. */
final class GpuFixture {
    /** A quiet NaN with a payload: an element still holding it was never written. */
    static final int POISON = 0x7FC0DEAD;

    private GpuFixture() {}

    static Context context() {
        return Context.primary(Device.get(0));
    }

    static float[] randomFloats(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    static DeviceBuffer upload(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(4, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
        return buffer;
    }

    static DeviceBuffer poisoned(Context context, Stream stream, long floats) {
        DeviceBuffer buffer = context.allocate(4 * floats);
        buffer.fillWordsAsync(POISON, stream);
        return buffer;
    }

    static float[] download(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * n);
            buffer.copyToHost(host);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}

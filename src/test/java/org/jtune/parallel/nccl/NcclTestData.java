package org.jtune.parallel.nccl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;

/** Random floats to and from the GPU for the NCCL tests. */
final class NcclTestData {
    private NcclTestData() {}

    static float[] floats(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * Math.pow(2, random.nextInt(-8, 9)));
        }
        return v;
    }

    static DeviceBuffer upload(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(4L * values.length);
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
        return buffer;
    }

    static float[] download(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * n);
            buffer.copyToHost(host);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** The bits of each value: equal arrays of bits are the same floats, NaN payloads and signed zeros included. */
    static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}

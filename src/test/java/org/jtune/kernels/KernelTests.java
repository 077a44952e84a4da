package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;
import org.jtune.tensor.HalfFloats;

/** Shared helpers of the kernel tests: transfers of bf16/float/int arrays, poisoning, bounded comparisons. */
final class KernelTests {
    /** Two bf16 NaNs with a payload: an element still holding one was never written. */
    static final int POISON_BF16_PAIR = 0x7FDE7FDE;
    /** A float32 NaN with a payload. */
    static final int POISON_F32 = 0x7FC0DEAD;

    private KernelTests() {}

    static Context context() {
        return Context.primary(Device.get(0));
    }

    static float bf16(short bits) {
        return HalfFloats.bf16ToFloat(bits);
    }

    /** Round to nearest even bf16, as torch does. */
    static short toBf16(float value) {
        return HalfFloats.floatToBf16(value);
    }

    /** bf16(value) for a double holding an exact float product or sum: rounds once through float. */
    static short toBf16Exact(double value) {
        float f = (float) value;
        if (f != value) {
            throw new AssertionError("test bug: " + value + " is not exact in float32");
        }
        return HalfFloats.floatToBf16(f);
    }

    /** Uniform in [-scale, scale), rounded to bf16. */
    static short[] randomBf16(SplittableRandom random, int n, double scale) {
        short[] values = new short[n];
        for (int i = 0; i < n; i++) {
            values[i] = toBf16((float) ((random.nextDouble() * 2 - 1) * scale));
        }
        return values;
    }

    static float[] randomFloats(SplittableRandom random, int n, double scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return values;
    }

    static DeviceBuffer upload(Context context, short[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 2L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_SHORT, values));
        }
        return buffer;
    }

    static DeviceBuffer upload(Context context, float[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
        return buffer;
    }

    static DeviceBuffer upload(Context context, int[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, 4L * values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
        return buffer;
    }

    static DeviceBuffer upload(Context context, byte[] values) {
        DeviceBuffer buffer = context.allocate(Math.max(16, values.length));
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFromHost(arena.allocateFrom(ValueLayout.JAVA_BYTE, values));
        }
        return buffer;
    }

    /** A buffer of {@code bytes} (rounded up to whole words) filled with a 32-bit NaN pattern. */
    static DeviceBuffer poisoned(Context context, Stream stream, long bytes, int pattern) {
        DeviceBuffer buffer = context.allocate(Math.max(16, (bytes + 3) / 4 * 4));
        buffer.fillWordsAsync(pattern, stream);
        return buffer;
    }

    static DeviceBuffer poisonedBf16(Context context, Stream stream, long elements) {
        return poisoned(context, stream, 2 * elements, POISON_BF16_PAIR);
    }

    static DeviceBuffer poisonedFloats(Context context, Stream stream, long elements) {
        return poisoned(context, stream, 4 * elements, POISON_F32);
    }

    static short[] downloadBf16(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(2, 2L * n));
            buffer.copyToHost(host.asSlice(0, 2L * n));
            return host.asSlice(0, 2L * n).toArray(ValueLayout.JAVA_SHORT);
        }
    }

    static float[] downloadFloats(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(4, 4L * n));
            buffer.copyToHost(host.asSlice(0, 4L * n));
            return host.asSlice(0, 4L * n).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    static int[] downloadInts(DeviceBuffer buffer, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(4, 4L * n));
            buffer.copyToHost(host.asSlice(0, 4L * n));
            return host.asSlice(0, 4L * n).toArray(ValueLayout.JAVA_INT);
        }
    }

    /** Fails unless |got - expected| <= bound; NaN or infinity in {@code got} always fails. */
    static void assertWithin(double expected, double got, double bound, String where) {
        if (!Double.isFinite(got) || !(Math.abs(got - expected) <= bound)) {
            fail(where + ": got " + got + ", expected " + expected + " within " + bound
                    + " (off by " + Math.abs(got - expected) + ")");
        }
    }

    /** Fails unless the two bf16 values have the same bits. */
    static void assertSameBf16(short expected, short got, String where) {
        if (expected != got) {
            fail(where + ": got bf16 " + hex(got) + " (" + bf16(got) + "), expected " + hex(expected)
                    + " (" + bf16(expected) + ")");
        }
    }

    static String hex(short bits) {
        return String.format("0x%04X", bits & 0xFFFF);
    }

    /** float32 unit roundoff 2^-24. */
    static final double F32_EPS = Math.scalb(1.0, -24);
    /** bf16 unit roundoff 2^-8 (8 significant bits, the leading one included). */
    static final double BF16_EPS = Math.scalb(1.0, -8);
}

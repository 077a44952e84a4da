package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Copies dense host weights (F32, BF16 or F16) to the bf16 the device holds, rounding on the host if needed. */
final class HostBf16 {
    private static final ValueLayout.OfShort BF16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HostBf16() {}

    static void upload(Tensor t, DeviceBuffer target, String name) {
        if (2 * t.size() != target.bytes()) {
            throw new IllegalArgumentException(name + ": " + t + " does not match its device buffer of "
                    + target.bytes() + " bytes");
        }
        if (t.dtype() == DType.BF16) {
            target.copyFromHost(t.segment());
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bf16 = arena.allocate(2 * t.size(), 16);
            for (long i = 0; i < t.size(); i++) {
                bf16.setAtIndex(BF16, i, HalfFloats.floatToBf16(t.get(i)));
            }
            target.copyFromHost(bf16);
        }
    }
}

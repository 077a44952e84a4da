package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * What the host hands the device for one decode step or prefill chunk: token ids, slots and positions of the rows
 * (int32), the document offsets of a prefill (for flash attention), and RoPE's inverse frequencies. They are written
 * into pinned memory and copied in one transfer into a device region at fixed addresses, so that a captured decode
 * step reads each step's values.
 */
final class DecodeInputs implements AutoCloseable {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int rows;
    private final long slotsOffset, positionsOffset, offsetsOffset, invFreqOffset, bytes;
    private final DeviceBuffer device;
    private final PinnedBuffer host;
    final DeviceBuffer tokenIds, slots, positions, documentOffsets, invFreq;

    /** The device region's size for {@code rows} rows and a head dimension. */
    static long bytes(int rows, int headDim) {
        return new Offsets(rows, headDim).bytes;
    }

    DecodeInputs(Context context, DeviceBuffer device, int rows, int headDim) {
        Offsets o = new Offsets(rows, headDim);
        this.rows = rows;
        this.slotsOffset = o.slots;
        this.positionsOffset = o.positions;
        this.offsetsOffset = o.offsets;
        this.invFreqOffset = o.invFreq;
        this.bytes = o.bytes;
        this.device = device;
        this.host = context.allocatePinned(bytes);
        tokenIds = device.slice(0, 4L * rows);
        slots = device.slice(slotsOffset, 4L * rows);
        positions = device.slice(positionsOffset, 4L * rows);
        documentOffsets = device.slice(offsetsOffset, 8);
        invFreq = device.slice(invFreqOffset, 4L * (headDim / 2));
    }

    private static final class Offsets {
        final long slots, positions, offsets, invFreq, bytes;

        Offsets(int rows, int headDim) {
            long vector = align(4L * rows);
            slots = vector;
            positions = 2 * vector;
            offsets = 3 * vector;
            invFreq = offsets + 16;
            bytes = align(invFreq + 4L * (headDim / 2));
        }

        private static long align(long bytes) {
            return (bytes + 15) / 16 * 16;
        }
    }

    /** Row i of a decode step: slot {@code slotIds[from + i]} appends {@code tokens[from + i]} at its position. */
    void decodeRows(int[] slotIds, int[] tokens, int[] rowPositions, int from, int count) {
        requireRows(count);
        MemorySegment m = host.segment();
        for (int i = 0; i < count; i++) {
            m.set(I32, 4L * i, tokens[from + i]);
            m.set(I32, slotsOffset + 4L * i, slotIds[from + i]);
            m.set(I32, positionsOffset + 4L * i, rowPositions[from + i]);
        }
    }

    /** A prefill chunk: {@code count} tokens of one slot from {@code tokens[from]}, at positions first, first+1, .. */
    void prefillRows(int slot, int[] tokens, int from, int count, int first) {
        requireRows(count);
        MemorySegment m = host.segment();
        for (int i = 0; i < count; i++) {
            m.set(I32, 4L * i, tokens[from + i]);
            m.set(I32, slotsOffset + 4L * i, slot);
            m.set(I32, positionsOffset + 4L * i, first + i);
        }
        m.set(I32, offsetsOffset, 0);
        m.set(I32, offsetsOffset + 4, count);
    }

    void invFreq(float[] values) {
        MemorySegment.copy(values, 0, host.segment(), F32, invFreqOffset, values.length);
    }

    /** Queues the copy of everything written to the device region; the host memory is reused after a sync. */
    void upload(Stream stream) {
        device.copyFromHostAsync(host.segment().asSlice(0, bytes), stream);
    }

    private void requireRows(int count) {
        if (count > rows) {
            throw new IllegalArgumentException(count + " rows of inputs; room for " + rows);
        }
    }

    @Override
    public void close() {
        host.close();
    }
}

package org.jtune.model.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The key/value cache of the CPU decode engine, taken once for {@code slots × capacity} tokens: per layer one
 * off-heap block of keys and one of values, float32, laid out [slot, position, kv head, head dim] so that one
 * slot's keys are contiguous and a head's key at a position is one contiguous run. float32 keeps the engine
 * exactly the model's full forward (it is the oracle of the GPU engine); off-heap keeps a large cache out of
 * the Java heap's limit.
 */
final class KvCache implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys, values;
    private final int capacity, width;

    /** @param width floats of one token's keys (kv heads × head dim) */
    KvCache(int layers, int slots, int capacity, int width) {
        this.capacity = capacity;
        this.width = width;
        long bytes = Math.multiplyExact(Math.multiplyExact((long) slots * capacity, width), Float.BYTES);
        keys = new MemorySegment[layers];
        values = new MemorySegment[layers];
        try {
            for (int l = 0; l < layers; l++) {
                keys[l] = arena.allocate(bytes, 64);
                values[l] = arena.allocate(bytes, 64);
            }
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new OutOfMemoryError("the key/value cache for " + slots + " sequences of " + capacity
                    + " tokens needs " + (2 * layers * bytes >> 20) + " MiB, more than this machine could allocate;"
                    + " use fewer sequences or a shorter context");
        }
    }

    /** Bytes held. */
    static long bytes(int layers, int slots, int capacity, int width) {
        return 2L * layers * slots * capacity * width * Float.BYTES;
    }

    MemorySegment keys(int layer) {
        return keys[layer];
    }

    MemorySegment values(int layer) {
        return values[layer];
    }

    /** Byte offset of the token at {@code position} of {@code slot}, head {@code head} of dimension {@code d}. */
    long offset(int slot, int position, int head, int d) {
        return (((long) slot * capacity + position) * width + (long) head * d) * Float.BYTES;
    }

    /** Stores one token's keys and values, {@code width} floats each from the given offsets of k and v. */
    void store(int layer, int slot, int position, float[] k, float[] v, int from) {
        long at = offset(slot, position, 0, 0);
        MemorySegment.copy(k, from, keys[layer], F32, at, width);
        MemorySegment.copy(v, from, values[layer], F32, at, width);
    }

    @Override
    public void close() {
        arena.close();
    }
}

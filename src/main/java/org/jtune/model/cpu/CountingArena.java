package org.jtune.model.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** An arena that adds up what is allocated from it, for the engine's memory report. */
final class CountingArena implements Arena {
    private final Arena arena;
    private long allocated;

    CountingArena(Arena arena) {
        this.arena = arena;
    }

    long allocatedBytes() {
        return allocated;
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        MemorySegment segment = arena.allocate(byteSize, byteAlignment);
        allocated += byteSize;
        return segment;
    }

    @Override
    public MemorySegment.Scope scope() {
        return arena.scope();
    }

    @Override
    public void close() {
        arena.close();
    }
}

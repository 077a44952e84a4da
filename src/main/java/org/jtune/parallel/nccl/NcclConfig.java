package org.jtune.parallel.nccl;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.nccl.Nccl;
import org.jtune.bindings.nccl.ncclConfig_t;

/**
 * The {@code ncclConfig_t} of jtune's communicators. nccl.h fills one with a brace initializer
 * ({@code NCCL_CONFIG_INITIALIZER}: its size, magic and version, every other field "undefined", NCCL's defaults),
 * which the bindings cannot carry; this does the same from the struct's layout, then asks for a non-blocking
 * communicator. A library older than this header reads only the fields it knows (it caps the size it copies).
 */
final class NcclConfig {
    private NcclConfig() {}

    static MemorySegment nonBlocking(Arena arena) {
        StructLayout layout = (StructLayout) ncclConfig_t.layout();
        MemorySegment config = arena.allocate(layout);
        long offset = 0;
        for (MemoryLayout member : layout.memberLayouts()) {
            if (member instanceof ValueLayout.OfInt) {
                config.set(ValueLayout.JAVA_INT, offset, Nccl.NCCL_CONFIG_UNDEF_INT());
            } else if (member instanceof AddressLayout) {
                config.set(ValueLayout.ADDRESS, offset, MemorySegment.NULL);
            }
            offset += member.byteSize();
        }
        ncclConfig_t.size(config, layout.byteSize());
        ncclConfig_t.magic(config, Nccl.NCCL_API_MAGIC());
        ncclConfig_t.version(config, Nccl.NCCL_VERSION_CODE());
        ncclConfig_t.blocking(config, 0);
        return config;
    }
}

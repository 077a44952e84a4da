package org.jtune.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.nccl.ncclConfig_t;
import org.junit.jupiter.api.Test;

/** The config filled by hand holds what nccl.h's NCCL_CONFIG_INITIALIZER writes, with blocking = 0. */
class NcclConfigTest {

    @Test
    void everyFieldIsTheInitializersButBlocking() {
        assumeTrue(NcclLibrary.isAvailable(), NcclLibrary.status().reason()); // the layouts load the library
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = NcclConfig.nonBlocking(arena);
            StructLayout layout = (StructLayout) ncclConfig_t.layout();
            assertEquals(layout.byteSize(), config.byteSize());
            assertEquals(96, layout.byteSize(), "sizeof(ncclConfig_t) of NCCL 2.30 on x86-64");
            for (MemoryLayout member : layout.memberLayouts()) {
                String name = member.name().orElse("");
                long offset = layout.byteOffset(MemoryLayout.PathElement.groupElement(name));
                switch (name) {
                    case "size" -> assertEquals(96L, config.get(ValueLayout.JAVA_LONG, offset), name);
                    case "magic" -> assertEquals(0xcafebeef, config.get(ValueLayout.JAVA_INT, offset), name);
                    case "version" -> assertEquals(23007, config.get(ValueLayout.JAVA_INT, offset), name);
                    case "blocking" -> assertEquals(0, config.get(ValueLayout.JAVA_INT, offset), name);
                    case "netName", "commName" ->
                            assertEquals(0L, config.get(ValueLayout.JAVA_LONG, offset), name + " NULL");
                    default -> assertEquals(Integer.MIN_VALUE, config.get(ValueLayout.JAVA_INT, offset),
                            name + " NCCL_CONFIG_UNDEF_INT");
                }
            }
        }
    }
}

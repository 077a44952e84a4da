package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PtxSourceTest {

    @Test
    void readsTargetEntriesAndParameterTypes() {
        String ptx = """
                // .entry commented_out(.param .u64 nothing)
                .version 8.0
                .target sm_90a
                .address_size 64
                /* block comment .entry also_ignored() */
                .visible .entry first(
                    .param .u64 .ptr .global .align 16 out,
                    .param .u32 n,
                    .param .f32 scale,
                    .param .align 64 .b8 descriptor[128])
                { ret; }
                .visible .entry second()
                { ret; }
                """;
        PtxSource source = PtxSource.parse("test.ptx", ptx);
        assertEquals("sm_90a", source.target());
        assertEquals(2, source.entries().size());
        assertEquals(List.of(
                new PtxSource.KernelParam("out", 'u', 8, false),
                new PtxSource.KernelParam("n", 'u', 4, false),
                new PtxSource.KernelParam("scale", 'f', 4, false),
                new PtxSource.KernelParam("descriptor", 'b', 128, true)), source.entries().get("first"));
        assertEquals(List.of(), source.entries().get("second"));
    }

    @Test
    void architectureSpecificTargetsRunOnlyOnTheirOwnCapability() {
        PtxSource portable = PtxSource.parse("a.ptx", ".version 8.0\n.target sm_80\n");
        assertTrue(portable.runsOn(80));
        assertTrue(portable.runsOn(90));
        assertFalse(portable.runsOn(75));
        PtxSource hopper = PtxSource.parse("b.ptx", ".version 8.0\n.target sm_90a\n");
        assertTrue(hopper.runsOn(90));
        assertFalse(hopper.runsOn(100));
        assertFalse(hopper.runsOn(89));
    }

    @Test
    void missingTargetIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PtxSource.parse("bad.ptx", ".version 8.0\n"));
        assertTrue(e.getMessage().contains("bad.ptx"), e.getMessage());
    }
}

package org.jtune.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.HashSet;
import java.util.Set;
import org.jtune.bindings.nccl.Nccl;
import org.junit.jupiter.api.Test;

/**
 * NCCL found or not, without a GPU: a host without the library gets the reason and no class of the bindings is
 * touched; where the library is (LD_LIBRARY_PATH naming its folder), its version and error strings are read.
 */
class NcclLibraryTest {

    @Test
    void absentLibraryIsReportedWithTheReasonAndRefusedEverywhere() {
        NcclLibrary.Status status = NcclLibrary.status();
        assumeFalse(status.available(), "libnccl.so.2 is present here");
        assertTrue(status.reason().contains("libnccl.so.2 not found"), status.reason());
        assertTrue(status.reason().contains("LD_LIBRARY_PATH"), status.reason());
        assertEquals(0, status.version());
        assertFalse(NcclLibrary.isAvailable());
        IllegalStateException e = assertThrows(IllegalStateException.class, NcclCommunicator::newUniqueId);
        assertTrue(e.getMessage().contains("libnccl.so.2 not found"), e.getMessage());
        // Asked again: the same answer, no class initialisation error on the way.
        assertEquals(status, NcclLibrary.status());
    }

    @Test
    void versionCodesReadAsNcclNamesThem() {
        // NCCL_VERSION(X,Y,Z) of nccl.h: X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z after.
        assertEquals("2.30.7", NcclLibrary.formatVersion(23007));
        assertEquals("2.14.0", NcclLibrary.formatVersion(21400));
        assertEquals("2.8.4", NcclLibrary.formatVersion(2804));
        assertEquals("2.9.9", NcclLibrary.formatVersion(20909));
    }

    @Test
    void presentLibraryReportsItsVersionAndErrorStrings() {
        NcclLibrary.Status status = NcclLibrary.status();
        assumeTrue(status.available(), status.reason());
        assertTrue(status.version() >= NcclLibrary.OLDEST_VERSION, status.versionString());
        assertTrue(status.versionString().matches("2\\.\\d+\\.\\d+"), status.versionString());
        assertEquals("", status.reason());
        int[] codes = {Nccl.ncclUnhandledCudaError(), Nccl.ncclSystemError(), Nccl.ncclInternalError(),
                Nccl.ncclInvalidArgument(), Nccl.ncclInvalidUsage(), Nccl.ncclRemoteError(), Nccl.ncclInProgress()};
        Set<String> texts = new HashSet<>();
        for (int code : codes) {
            String text = NcclResults.errorString(code);
            assertFalse(text.isBlank(), "no text for code " + code);
            texts.add(text);
            assertTrue(NcclResults.isError(code) == (code != Nccl.ncclInProgress()), "code " + code);
        }
        assertEquals(codes.length, texts.size(), "each code its own text: " + texts);
        assertFalse(NcclResults.isError(Nccl.ncclSuccess()));
        NcclException e = NcclResults.failure(Nccl.ncclInvalidArgument(), "ncclAllReduce", null);
        assertTrue(e.getMessage().startsWith("ncclAllReduce failed: " + NcclResults.errorString(
                Nccl.ncclInvalidArgument()) + " (" + Nccl.ncclInvalidArgument() + ")"), e.getMessage());
        assertEquals(Nccl.ncclInvalidArgument(), e.code());
    }

    @Test
    void uniqueIdsAreFreshAndOfNcclsSize() {
        assumeTrue(NcclLibrary.isAvailable(), NcclLibrary.status().reason());
        byte[] a = NcclCommunicator.newUniqueId(), b = NcclCommunicator.newUniqueId();
        assertEquals(Nccl.NCCL_UNIQUE_ID_BYTES(), a.length);
        assertEquals(128, a.length, "nccl.h: NCCL_UNIQUE_ID_BYTES 128");
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b), "two ids alike");
    }
}

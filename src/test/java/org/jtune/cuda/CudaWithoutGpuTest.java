package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.junit.jupiter.api.Test;

/** Where there is no GPU, the runtime says why in one line and refuses GPU work with that reason. */
class CudaWithoutGpuTest {

    @Test
    void explainsWhyNoGpuIsUsable() {
        Cuda.Status status = Cuda.status();
        assumeFalse(status.available(), "a GPU is present");
        assertFalse(status.reason().isBlank());
        assertFalse(status.reason().contains("\n"), "the reason is one line");
        assertEquals(0, Device.count());
        assertTrue(Device.all().isEmpty());
        CudaException e = assertThrows(CudaException.class, () -> Device.get(0));
        assertTrue(e.getMessage().contains(status.reason()), e.getMessage());
    }
}

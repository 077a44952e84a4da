package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How the cross-entropy launcher sizes its chunks from a memory budget (no GPU needed). */
class FusedCrossEntropyTest {

    @Test
    void chunksAreWholeRowsOfTheBudgetCutToGemmFriendlySizes() {
        int vocab = 128_256;
        long rowBytes = 2L * vocab;
        assertEquals(256 * rowBytes, FusedCrossEntropy.logitsBytes(256, vocab));
        assertEquals(3, FusedCrossEntropy.chunkRows(3 * rowBytes + rowBytes / 2, vocab, 4096));
        assertEquals(127, FusedCrossEntropy.chunkRows(127 * rowBytes, vocab, 4096));
        assertEquals(256, FusedCrossEntropy.chunkRows(300 * rowBytes, vocab, 4096));
        assertEquals(40, FusedCrossEntropy.chunkRows(300 * rowBytes, vocab, 40));
        // 1 GiB holds 4186 rows of Llama 3's vocabulary: 32 chunks of 128 rows.
        assertEquals(4096, FusedCrossEntropy.chunkRows(1L << 30, vocab, 1 << 20));
    }

    @Test
    void aBudgetBelowOneRowIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FusedCrossEntropy.chunkRows(1000, 32_000, 10));
        assertTrue(e.getMessage().contains("holds no row of 32000 bf16 logits"), e.getMessage());
    }
}

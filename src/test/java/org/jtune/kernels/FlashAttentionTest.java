package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The attention launcher's host-side descriptions refuse what the kernels cannot run (no GPU needed). */
class FlashAttentionTest {

    @Test
    void documentsDescribeThePackedTokens() {
        int[] offsets = {0, 5, 6, 70};
        FlashAttention.Documents documents = new FlashAttention.Documents(offsets);
        offsets[1] = 4;
        assertEquals(3, documents.count());
        assertEquals(70, documents.tokens());
        assertEquals(64, documents.maxLength());
        assertArrayEquals(new int[] {0, 5, 6, 70}, documents.offsets());
        assertEquals(16, documents.deviceBytes());
    }

    @Test
    void documentsRejectBadOffsets() {
        assertMessage(() -> new FlashAttention.Documents(new int[] {0}), "at least 2 entries");
        assertMessage(() -> new FlashAttention.Documents(new int[] {1, 5}), "must start at 0");
        assertMessage(() -> new FlashAttention.Documents(new int[] {0, 5, 5}), "document 1 is empty");
        assertMessage(() -> new FlashAttention.Documents(new int[] {0, 5, 3}), "document 1 is empty or reversed");
        int[] tooMany = new int[FlashAttention.MAX_DOCUMENTS + 2];
        for (int i = 0; i < tooMany.length; i++) {
            tooMany[i] = i;
        }
        assertMessage(() -> new FlashAttention.Documents(tooMany), "65536 documents");
    }

    @Test
    void headsRejectWhatTheKernelsDoNotRun() {
        assertEquals((float) (1 / Math.sqrt(128)), new FlashAttention.Heads(32, 8, 128, 0).scale());
        assertMessage(() -> new FlashAttention.Heads(32, 8, 96, 0), "head dimension 96 is not supported");
        assertMessage(() -> new FlashAttention.Heads(12, 8, 64, 0), "not a multiple of kv heads 8");
        assertMessage(() -> new FlashAttention.Heads(8, 8, 64, -1), "window -1");
        assertMessage(() -> FlashAttention.requireBackward(new FlashAttention.Heads(8, 4, 256, 0)),
                "the attention backward supports head dimension 64 or 128, not 256");
        assertMessage(() -> new FlashAttention.Heads(8, 8, 64, 0, Float.NaN), "must be a positive number, got NaN");
        assertEquals(0.0625f, new FlashAttention.Heads(8, 8, 64, 0, 0.0625f).scale());
    }

    private static void assertMessage(Runnable action, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}

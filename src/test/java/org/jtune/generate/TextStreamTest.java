package org.jtune.generate;

import org.jtune.testing.ByteTokenizer;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streaming text of emoji and CJK characters that tokenizers split over several tokens: byte-level BPE (Llama 3,
 * and a tokenizer of single bytes) and SentencePiece with byte fallback (Mistral). The pieces never show half a
 * character and join to the text of decoding all tokens at once.
 */
class TextStreamTest {
    private static final String TEXT = "Grüße 👋🏽 from 東京 — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 🧑‍🚀!\nNext line: 語彙 ✓";

    @Test
    void singleByteTokens() {
        check(ByteTokenizer.create());
    }

    @Test
    void llama3ByteLevel() {
        check(TestTokenizers.llama3());
    }

    @Test
    void mistralByteFallback() {
        check(TestTokenizers.mistral());
    }

    private static void check(Tokenizer tokenizer) {
        int[] ids = tokenizer.encodeIds(TEXT, false);
        boolean split = false;
        for (int id : ids) {
            split |= tokenizer.decode(new int[] {id}, true).contains("\uFFFD");
        }
        assertTrue(split, tokenizer + " spells no character over several tokens here; the test would prove nothing");
        TextStream stream = new TextStream(tokenizer);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(stream.add(id));
        }
        pieces.add(stream.flush());
        for (String piece : pieces) {
            assertFalse(piece.contains("\uFFFD"), "piece '" + piece + "' holds part of a character");
            assertFalse(!piece.isEmpty() && Character.isLowSurrogate(piece.charAt(0)), "piece starts mid-character");
        }
        assertEquals(tokenizer.decode(ids, true), String.join("", pieces));
        assertEquals(TEXT, String.join("", pieces));
    }

    @Test
    void flushShowsAnIncompleteCharacterAtTheEnd() {
        Tokenizer bytes = ByteTokenizer.create();
        TextStream stream = new TextStream(bytes);
        byte[] utf8 = "a東".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("a", stream.add(utf8[0]));
        assertEquals("", stream.add(Byte.toUnsignedInt(utf8[1])));
        assertEquals("\uFFFD", stream.flush()); // generation ended inside a character: shown as the decoder shows it
    }

    @Test
    void specialTokensAreLeftOut() {
        TextStream stream = new TextStream(ByteTokenizer.create());
        assertEquals("h", stream.add('h'));
        assertEquals("", stream.add(257));
        assertEquals("i", stream.add('i'));
    }
}

package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Split behaviors, cutting SentencePiece-style words at "▁", and NFC with its alignment to the original text. */
class PreTokenizationTest {

    private static List<String> split(String behavior, boolean invert, String pattern, String text) throws Exception {
        PreTokenizer p = PreTokenizer.fromJson(new ObjectMapper().readTree("""
                {"type": "Split", "pattern": {"String": "%s"}, "behavior": "%s", "invert": %s}"""
                .formatted(pattern, behavior, invert)), "test");
        IntList words = new IntList(8);
        p.split(text, words);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < words.size(); i += 2) {
            out.add(text.substring(words.get(i), words.get(i + 1)));
        }
        return out;
    }

    /** The examples of the tokenizers library's documentation of SplitDelimiterBehavior. */
    @Test
    void everySplitBehaviorCutsAsTheTokenizersLibrary() throws Exception {
        String text = "the-final--countdown";
        assertEquals(List.of("the", "final", "countdown"), split("Removed", false, "-", text));
        assertEquals(List.of("the", "-", "final", "-", "-", "countdown"), split("Isolated", false, "-", text));
        assertEquals(List.of("the-", "final-", "-", "countdown"), split("MergedWithPrevious", false, "-", text));
        assertEquals(List.of("the", "-final", "-", "-countdown"), split("MergedWithNext", false, "-", text));
        assertEquals(List.of("the", "-", "final", "--", "countdown"), split("Contiguous", false, "-", text));
        // Inverted, the pattern names what to keep: here "-" is kept and the words between are the delimiters.
        assertEquals(List.of("-", "-", "-"), split("Removed", true, "-", text));
        // Gemma 3 splits at " " after its normalizer turned every space into "▁": nothing is cut.
        assertEquals(List.of("a\u2581\u2581b"), split("MergedWithPrevious", false, " ", "a\u2581\u2581b"));
    }

    /**
     * Gemma 3's vocabulary has a token across a "▁" (">▁&lt;/"): cutting words at "▁" must leave it whole.
     * Random texts over pieces that form it are encoded as one word by the BPE model and through the tokenizer.
     */
    @Test
    void cuttingAtMetaspaceGivesTheTokensOfTheWholeWord() {
        Tokenizer tok = TestTokenizers.gemma3();
        assertTrue(tok.model().metaspaceCutter().usable(), "Gemma 3's vocabulary can be cut at ▁");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String[] pieces = {">", "</", " ", "  ", "a", "b>", "\n", "é", "> </", "x</", "\u2581"};
        // Gemma's added tokens include HTML tags such as "</b>"; texts holding one are cut there first.
        List<String> added = tok.addedTokens().values().stream().map(AddedToken::content).toList();
        int bridged = 0;
        int checked = 0;
        for (int n = 0; n < 1000; n++) {
            StringBuilder sb = new StringBuilder();
            for (int k = random.nextInt(12) + 1; k > 0; k--) {
                sb.append(pieces[random.nextInt(pieces.length)]);
            }
            String text = sb.toString();
            if (added.stream().anyMatch(text::contains)) {
                continue;
            }
            checked++;
            String normalized = text.replace(' ', '\u2581');
            int[] whole = tok.model().encodeWord(normalized, false).ids();
            assertArrayEquals(whole, tok.encodeIds(text, false), TransformersJsGoldenTest.quoted(text) + " (seed " + seed + ")");
            for (int id : whole) {
                bridged += tok.idToToken(id).equals(">\u2581</") ? 1 : 0;
            }
        }
        assertTrue(checked >= 200 && bridged > 0, checked + " texts checked, " + bridged
                + " tokens across a ▁ made (seed " + seed + ")");
    }

    @Test
    void nfcComposesAndAlignsEachCharacterWithTheOriginal() {
        String original = "cafe\u0301 \u1100\u1161\u11A8 A\u030A\u0323x \u212B";
        NormalizedText nfc = NormalizedText.slice("__" + original, 2, 2 + original.length()).nfc();
        assertEquals(java.text.Normalizer.normalize(original, Form.NFC), nfc.text);
        int previousStart = 0;
        for (int i = 0; i < nfc.text.length(); i++) {
            int start = nfc.originalStart(i);
            int end = nfc.originalEnd(i);
            assertTrue(2 <= start && start < end && end <= 2 + original.length() && start >= previousStart,
                    "unit " + i + " aligned with " + start + ".." + end);
            previousStart = start;
        }
        // The composed é stands where "e" stood; the Hangul syllable where its first jamo stood.
        assertEquals(2 + 3, nfc.originalStart(nfc.text.indexOf('\u00E9')));
        assertEquals(2 + 6, nfc.originalStart(nfc.text.indexOf('\uAC01')));
        // Text that is already NFC is left as it is.
        NormalizedText plain = NormalizedText.slice("abc", 1, 3);
        assertTrue(plain == plain.nfc());
    }
}

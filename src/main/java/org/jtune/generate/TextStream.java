package org.jtune.generate;

import org.jtune.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Turns generated token ids into text piece by piece as they come. A character may be split over several tokens
 * (byte-level BPE, or SentencePiece's byte fallback, spell a multi-byte UTF-8 character one byte per token), and a
 * decoder may change how a token reads depending on what precedes it (SentencePiece drops the space of a first
 * token). So, as transformers' streamers do, the tokens since a recent offset are decoded together and the text
 * they add over the tokens already shown is released only once it does not end in an incomplete character
 * (U+FFFD). Special tokens are left out.
 */
public final class TextStream {
    private final Tokenizer tokenizer;
    private int[] ids = new int[64];
    private int length;
    /** Decoding starts at prefix: the tokens before it are settled. */
    private int prefix;
    /** The tokens before read have been shown. */
    private int read;

    public TextStream(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one token; returns the text it completes (possibly empty). */
    public String add(int id) {
        if (length == ids.length) {
            ids = Arrays.copyOf(ids, 2 * length);
        }
        ids[length++] = id;
        String shown = decode(prefix, read);
        String all = decode(prefix, length);
        if (all.length() > shown.length() && !all.endsWith("\uFFFD") && all.startsWith(shown)) {
            prefix = read;
            read = length;
            return all.substring(shown.length());
        }
        return "";
    }

    /** The text not yet shown, even if it ends in an incomplete character (at the end of generation). */
    public String flush() {
        String shown = decode(prefix, read);
        String all = decode(prefix, length);
        prefix = read = length;
        return all.startsWith(shown) ? all.substring(shown.length()) : all;
    }

    private String decode(int from, int to) {
        return tokenizer.decode(Arrays.copyOfRange(ids, from, to), true);
    }
}

package org.jtune.tokenizer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Cuts a SentencePiece-style word before each "▁" that follows another character, where no merge
 * can join the two sides: BPE then gives the same tokens piece by piece as for the whole word, and
 * short pieces can be cached (a text without a pre-tokenizer is otherwise one long word).
 * <p>
 * Every merge result is a vocabulary token, so a merge across such a place makes a token that holds
 * a "▁" right after another character. Where no such token occurs in the word over the place, the
 * place is a safe cut. Vocabularies with many such tokens are not cut at all.
 */
final class MetaspaceCutter {
    private static final char METASPACE = '\u2581';
    /** Beyond this many tokens with an inner "▁", checking each place costs more than caching saves. */
    private static final int MAX_BRIDGING_TOKENS = 64;

    /** The tokens with a "▁" right after another character (Gemma 3 has one: "&gt;▁&lt;/"). */
    private final List<String> bridging;
    private final boolean usable;

    MetaspaceCutter(Collection<String> vocabulary) {
        List<String> found = new ArrayList<>();
        boolean hasMetaspace = false;
        for (String token : vocabulary) {
            hasMetaspace |= token.equals(String.valueOf(METASPACE));
            if (bridges(token) && found.size() <= MAX_BRIDGING_TOKENS) {
                found.add(token);
            }
        }
        bridging = List.copyOf(found);
        usable = hasMetaspace && found.size() <= MAX_BRIDGING_TOKENS;
    }

    private static boolean bridges(String token) {
        for (int i = 1; i < token.length(); i++) {
            if (token.charAt(i) == METASPACE && token.charAt(i - 1) != METASPACE) {
                return true;
            }
        }
        return false;
    }

    /** False for vocabularies without "▁" or with too many tokens across a cut: words are then left whole. */
    boolean usable() {
        return usable;
    }

    /** Appends the pieces of the word [start, end) of {@code text} as [start, end) pairs. */
    void cut(String text, int start, int end, IntList out) {
        int pieceStart = start;
        for (int i = start + 1; i < end; i++) {
            if (text.charAt(i) == METASPACE && text.charAt(i - 1) != METASPACE && !bridged(text, start, end, i)) {
                out.add(pieceStart);
                out.add(i);
                pieceStart = i;
            }
        }
        if (pieceStart < end) {
            out.add(pieceStart);
            out.add(end);
        }
    }

    /** Whether a bridging token occurs inside [start, end) over the characters at i - 1 and i. */
    private boolean bridged(String text, int start, int end, int i) {
        for (String token : bridging) {
            for (int k = 1; k < token.length(); k++) {
                int at = i - k;
                if (at >= start && at + token.length() <= end && text.startsWith(token, at)) {
                    return true;
                }
            }
        }
        return false;
    }
}

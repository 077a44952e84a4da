package org.jtune.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts a text at added tokens, leftmost match first and the longest token at a position, into
 * token matches and the plain text between them.
 */
final class AddedTokenSplitter {
    /** Candidate tokens by first character, longest first. */
    private final Map<Character, List<AddedToken>> byFirstChar = new HashMap<>();

    AddedTokenSplitter(List<AddedToken> tokens) {
        for (AddedToken t : tokens) {
            if (!t.content().isEmpty()) {
                byFirstChar.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
            }
        }
        byFirstChar.values().forEach(list -> list.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed()));
    }

    /** A piece of the text: an added token (token != null) or plain text, range [start, end). */
    record Segment(AddedToken token, int start, int end) {
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            out.add(new Segment(null, 0, text.length()));
            return out;
        }
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + match.content().length();
            if (match.lstrip()) {
                while (start > plainStart && isWhiteSpace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (match.rstrip()) {
                while (stop < text.length() && isWhiteSpace(text.charAt(stop))) {
                    stop++;
                }
            }
            if (start > plainStart) {
                out.add(new Segment(null, plainStart, start));
            }
            out.add(new Segment(match, start, stop));
            plainStart = stop;
            i = stop;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(null, plainStart, text.length()));
        }
        return out;
    }

    private AddedToken longestAt(String text, int i) {
        List<AddedToken> candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) {
            return null;
        }
        for (AddedToken t : candidates) {
            if (text.startsWith(t.content(), i)) {
                int end = i + t.content().length();
                if (t.singleWord() && (isWordChar(text, i - 1) || isWordChar(text, end))) {
                    // A single-word token inside a word is no match; a shorter candidate may still be.
                    continue;
                }
                return t;
            }
        }
        return null;
    }

    private static boolean isWordChar(String text, int at) {
        if (at < 0 || at >= text.length()) {
            return false;
        }
        char c = text.charAt(at);
        return Character.isLetterOrDigit(c) || c == '_';
    }

    /** Unicode White_Space, as Rust's char::is_whitespace (Java's Character.isWhitespace differs). */
    static boolean isWhiteSpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
                || c == 0x205F || c == 0x3000;
    }
}

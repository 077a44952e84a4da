package org.jtune.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts a text at added tokens, leftmost match first and the longest token at a position, into
 * token matches and the plain text between them.
 */
final class AddedTokenSplitter {
    /**
     * The tokens as a trie over their characters: a match is found by walking the text from a position
     * for as long as some token continues, not by trying each token (Llama 3's 256 special tokens all
     * begin with "<|").
     */
    private static final class Node {
        final Map<Character, Node> next = new HashMap<>(4);
        AddedToken token;
    }

    private final Node root = new Node();
    private final boolean empty;

    AddedTokenSplitter(List<AddedToken> tokens) {
        boolean any = false;
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) {
                continue;
            }
            any = true;
            Node n = root;
            for (int i = 0; i < t.content().length(); i++) {
                n = n.next.computeIfAbsent(t.content().charAt(i), c -> new Node());
            }
            if (n.token == null) {
                n.token = t;
            }
        }
        empty = !any;
    }

    /** A piece of the text: an added token (token != null) or plain text, range [start, end). */
    record Segment(AddedToken token, int start, int end) {
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (empty) {
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

    /** The longest token at i; a single-word token inside a word is no match, but a shorter one may be. */
    private AddedToken longestAt(String text, int i) {
        AddedToken best = null;
        Node n = root;
        for (int j = i; j < text.length(); j++) {
            n = n.next.get(text.charAt(j));
            if (n == null) {
                break;
            }
            AddedToken t = n.token;
            if (t != null && !(t.singleWord() && (isWordChar(text, i - 1) || isWordChar(text, j + 1)))) {
                best = t;
            }
        }
        return best;
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

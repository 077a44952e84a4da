package org.jtune.tokenizer;

/**
 * A text after normalization, with each UTF-16 unit aligned to the range of the original text it
 * came from, so token offsets can be reported in the original text.
 */
final class NormalizedText {
    final String text;
    /** Original range of each unit of {@link #text}; both null while the text is an unchanged slice. */
    private final int[] origStart;
    private final int[] origEnd;
    /** Where an unchanged slice starts in the original text. */
    private final int base;

    private NormalizedText(String text, int[] origStart, int[] origEnd, int base) {
        this.text = text;
        this.origStart = origStart;
        this.origEnd = origEnd;
        this.base = base;
    }

    /** The unchanged slice [start, end) of an original text. */
    static NormalizedText slice(String original, int start, int end) {
        return new NormalizedText(original.substring(start, end), null, null, start);
    }

    int originalStart(int unit) {
        return origStart == null ? base + unit : origStart[unit];
    }

    /** End (exclusive) in the original of the unit at {@code unit}. */
    int originalEnd(int unit) {
        return origEnd == null ? base + unit + 1 : origEnd[unit];
    }

    /** Puts {@code prefix} in front; its units align with the first character (nothing happens to an empty text). */
    NormalizedText prepend(String prefix) {
        if (text.isEmpty() || prefix.isEmpty()) {
            return this;
        }
        int n = prefix.length();
        int[] s = new int[n + text.length()];
        int[] e = new int[n + text.length()];
        int firstStart = originalStart(0);
        int firstEnd = originalEnd(Character.isHighSurrogate(text.charAt(0)) && text.length() > 1 ? 1 : 0);
        for (int i = 0; i < n; i++) {
            s[i] = firstStart;
            e[i] = firstEnd;
        }
        for (int i = 0; i < text.length(); i++) {
            s[n + i] = originalStart(i);
            e[n + i] = originalEnd(i);
        }
        return new NormalizedText(prefix + text, s, e, 0);
    }

    /** Replaces every occurrence of {@code pattern}; each replacement unit aligns with the whole replaced range. */
    NormalizedText replace(String pattern, String content) {
        if (pattern.isEmpty()) {
            throw new TokenizerException("Replace normalizer with an empty pattern");
        }
        int at = text.indexOf(pattern);
        if (at < 0) {
            return this;
        }
        if (pattern.length() == content.length() && origStart == null) {
            // Same length: alignment is unchanged, only the text differs.
            return new NormalizedText(text.replace(pattern, content), null, null, base);
        }
        StringBuilder out = new StringBuilder(text.length());
        IntList s = new IntList(text.length());
        IntList e = new IntList(text.length());
        int from = 0;
        while (at >= 0) {
            for (int i = from; i < at; i++) {
                out.append(text.charAt(i));
                s.add(originalStart(i));
                e.add(originalEnd(i));
            }
            int rs = originalStart(at);
            int re = originalEnd(at + pattern.length() - 1);
            for (int i = 0; i < content.length(); i++) {
                out.append(content.charAt(i));
                s.add(rs);
                e.add(re);
            }
            from = at + pattern.length();
            at = text.indexOf(pattern, from);
        }
        for (int i = from; i < text.length(); i++) {
            out.append(text.charAt(i));
            s.add(originalStart(i));
            e.add(originalEnd(i));
        }
        return new NormalizedText(out.toString(), s.toArray(), e.toArray(), 0);
    }
}

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

    /**
     * Unicode NFC. Each combining sequence (a character and the marks or Hangul vowel and final jamo
     * after it) is composed on its own; as in Hugging Face's tokenizers, the first character of the
     * result aligns with the sequence's first original character, and the following ones with the
     * sequence's last characters (the ones composition removed are those right after the first).
     */
    NormalizedText nfc() {
        if (java.text.Normalizer.isNormalized(text, java.text.Normalizer.Form.NFC)) {
            return this;
        }
        StringBuilder out = new StringBuilder(text.length());
        IntList s = new IntList(text.length());
        IntList e = new IntList(text.length());
        int i = 0;
        while (i < text.length()) {
            int j = i + Character.charCount(text.codePointAt(i));
            while (j < text.length() && attachesToPrevious(text.codePointAt(j))) {
                j += Character.charCount(text.codePointAt(j));
            }
            String sequence = text.substring(i, j);
            String composed = java.text.Normalizer.normalize(sequence, java.text.Normalizer.Form.NFC);
            int count = sequence.codePointCount(0, sequence.length());
            int[] starts = new int[count];
            int[] ends = new int[count];
            for (int k = 0, unit = i; k < count; k++) {
                int units = Character.charCount(text.codePointAt(unit));
                starts[k] = originalStart(unit);
                ends[k] = originalEnd(unit + units - 1);
                unit += units;
            }
            int outCount = composed.codePointCount(0, composed.length());
            for (int k = 0, unit = 0; k < outCount; k++) {
                int cp = composed.codePointAt(unit);
                int source = k == 0 ? 0 : Math.min(count - 1, Math.max(0, k + count - outCount));
                for (int u = 0; u < Character.charCount(cp); u++) {
                    s.add(starts[source]);
                    e.add(ends[source]);
                }
                out.appendCodePoint(cp);
                unit += Character.charCount(cp);
            }
            i = j;
        }
        String result = out.toString();
        if (!result.equals(java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC))) {
            // A composition across the sequences found above: the whole text is one sequence.
            String whole = java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC);
            int[] ws = new int[whole.length()];
            int[] we = new int[whole.length()];
            java.util.Arrays.fill(ws, originalStart(0));
            java.util.Arrays.fill(we, originalEnd(text.length() - 1));
            return new NormalizedText(whole, ws, we, 0);
        }
        return new NormalizedText(result, s.toArray(), e.toArray(), 0);
    }

    /** A combining mark, or a Hangul vowel or final jamo: it may compose with what comes before it. */
    private static boolean attachesToPrevious(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK
                || (cp >= 0x1161 && cp <= 0x11FF) || (cp >= 0xD7B0 && cp <= 0xD7FF);
    }
}

package org.jtune.tokenizer;

/**
 * A rendered conversation as token ids, with {@code assistant[i]} true for tokens that overlap an
 * assistant span: the tokens a fine-tuning loss is computed on.
 */
public record TokenizedChat(int[] ids, boolean[] assistant) {
    public TokenizedChat {
        if (ids.length != assistant.length) {
            throw new IllegalArgumentException("ids and mask differ in length: " + ids.length + " vs " + assistant.length);
        }
    }

    /** Tokenizes without adding special tokens (the template writes them), as apply_chat_template does. */
    public static TokenizedChat of(Tokenizer tokenizer, RenderedChat chat) {
        Encoding e = tokenizer.encode(chat.text(), false);
        boolean[] mask = new boolean[e.size()];
        for (int i = 0; i < mask.length; i++) {
            for (RenderedChat.Span s : chat.assistantSpans()) {
                if (e.starts()[i] < s.end() && e.ends()[i] > s.start()) {
                    mask[i] = true;
                    break;
                }
            }
        }
        return new TokenizedChat(e.ids(), mask);
    }
}

package org.jtune.data;

import java.util.Arrays;
import org.jtune.tokenizer.Encoding;
import org.jtune.tokenizer.Tokenizer;

/**
 * Tokenizes a prompt followed by a completion as one text and marks the completion's tokens.
 * A token belongs to the completion when any of its characters come from the completion; where the
 * prompt's tokens are a prefix of the whole text's tokens (the usual case) this is exactly TRL's
 * rule "the tokens after len(tokenize(prompt))", and where a token straddles the boundary it is
 * trained rather than the record refused.
 */
final class CompletionTokens {
    private CompletionTokens() {
    }

    /**
     * Plain strings: the tokenizer's post-processor adds its tokens (BOS for Llama and Mistral) and EOS
     * is appended after the completion unless the text already ends with it, as TRL's SFT and DPO do.
     */
    static TokenizedExample plain(Tokenizer tokenizer, int eos, String prompt, String completion) {
        String text = prompt + completion;
        TokenizedExample e = mark(tokenizer.encode(text, true), prompt.length());
        int n = e.length();
        if (n > 0 && e.ids()[n - 1] == eos) {
            // The text ends with EOS, or the post-processor appends it: it is the completion's last token.
            e.trainable()[n - 1] = true;
            return e;
        }
        int[] ids = Arrays.copyOf(e.ids(), n + 1);
        boolean[] trainable = Arrays.copyOf(e.trainable(), n + 1);
        ids[n] = eos;
        trainable[n] = true;
        return new TokenizedExample(ids, trainable);
    }

    /**
     * Text written by a chat template, which already holds the special tokens and the end-of-turn
     * tokens: tokenized without adding any, as apply_chat_template does; the completion starts at
     * character {@code boundary}.
     */
    static TokenizedExample rendered(Tokenizer tokenizer, String text, int boundary) {
        return mark(tokenizer.encode(text, false), boundary);
    }

    private static TokenizedExample mark(Encoding e, int boundary) {
        boolean[] trainable = new boolean[e.size()];
        for (int i = 0; i < trainable.length; i++) {
            // Tokens added by the post-processor have the empty range [0, 0) and are never trained.
            trainable[i] = e.ends()[i] > boundary && e.ends()[i] > e.starts()[i];
        }
        return new TokenizedExample(e.ids(), trainable);
    }
}

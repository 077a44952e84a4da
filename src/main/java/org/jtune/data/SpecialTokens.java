package org.jtune.data;

import org.jtune.tokenizer.Tokenizer;

/**
 * The ids the data layer adds itself: EOS after a completion, and the padding id. The padding id is
 * the tokenizer's pad token, or its EOS when it has none (Llama and Mistral ship none), as TRL does;
 * padded positions never reach the loss, so the choice does not change training.
 */
public record SpecialTokens(int eos, int pad) {
    public static SpecialTokens of(Tokenizer tokenizer) {
        int eos = tokenizer.requireId(tokenizer.config().eosToken(), "end-of-sequence (eos_token)");
        String padToken = tokenizer.config().padToken();
        int pad = padToken == null ? eos : tokenizer.requireId(padToken, "padding (pad_token)");
        return new SpecialTokens(eos, pad);
    }
}

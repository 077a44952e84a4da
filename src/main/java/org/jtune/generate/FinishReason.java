package org.jtune.generate;

import java.util.Locale;

/** Why a sequence ended, as OpenAI's API names it. */
public enum FinishReason {
    /** An end-of-sequence token or a stop string. */
    STOP,
    /** max_new_tokens reached, or the sequence filled its context. */
    LENGTH;

    /** "stop" or "length". */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}

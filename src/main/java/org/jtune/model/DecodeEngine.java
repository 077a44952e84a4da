package org.jtune.model;

/**
 * A model placed on a device to generate text: prompts are prefilled into a key/value cache planned up front,
 * then each decode step appends one token to each of several sequences and returns their next-token logits.
 *
 * <p>Sequences live in slots {@code 0 .. maxSequences()-1}; each slot holds up to {@link #capacity()} tokens
 * (prompt and generated). Slots are independent: sequences of different lengths decode together. Logits come
 * back as fp32 on the host, so sampling is the caller's and the same for every engine.
 */
public interface DecodeEngine extends AutoCloseable {

    int vocabSize();

    /** How many sequences can be held at once. */
    int maxSequences();

    /** The most tokens one slot can hold. */
    int capacity();

    /** Tokens now in the slot's cache. */
    int length(int slot);

    /** Empties a slot so that a new sequence can start in it. */
    void reset(int slot);

    /**
     * Appends {@code tokens} to the slot's cache (the whole prompt, or a continuation of it) and writes the
     * logits that follow the last of them to {@code logits[0 .. vocabSize())}.
     */
    void prefill(int slot, int[] tokens, float[] logits);

    /**
     * One decode step: appends {@code tokens[i]} to slot {@code slots[i]} for every i and writes the logits that
     * follow it to {@code logits[i * vocabSize() .. (i + 1) * vocabSize())}.
     */
    void decode(int[] slots, int[] tokens, float[] logits);

    /** Applies the LoRA adapters (when the engine has any) or runs the base model alone. */
    void setAdaptersEnabled(boolean enabled);

    @Override
    void close();
}

package org.jtune.model;

/**
 * The sequence slots of a decode engine: how many tokens each holds, and the checks every prefill and decode step
 * passes before anything runs (slot in range, room left, token ids in the vocabulary, a logits array large enough,
 * no slot twice in one step). Not thread-safe, as the engines.
 */
public final class DecodeSlots {
    private final int capacity, vocab;
    private final int[] lengths;

    /** {@code maxSequences} slots of {@code capacity} tokens each, for a model of {@code vocab} tokens. */
    public DecodeSlots(int maxSequences, int capacity, int vocab) {
        this.capacity = capacity;
        this.vocab = vocab;
        this.lengths = new int[maxSequences];
    }

    public int count() {
        return lengths.length;
    }

    /** Tokens the slot holds. */
    public int length(int slot) {
        requireSlot(slot);
        return lengths[slot];
    }

    /** Empties the slot. */
    public void reset(int slot) {
        requireSlot(slot);
        lengths[slot] = 0;
    }

    /** Checks a prefill of {@code tokens} into {@code slot}, whose last logits row goes to {@code logits}. */
    public void checkPrefill(int slot, int[] tokens, float[] logits) {
        requireSlot(slot);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill of slot " + slot + " with no tokens");
        }
        if ((long) lengths[slot] + tokens.length > capacity) {
            throw new IllegalArgumentException("slot " + slot + " holds " + lengths[slot] + " tokens; "
                    + tokens.length + " more exceed its capacity of " + capacity);
        }
        for (int i = 0; i < tokens.length; i++) {
            requireToken(tokens[i], "prefill token " + i);
        }
        requireLogits(logits, 1);
    }

    /**
     * Checks a decode step of one token per slot (no slot twice, none full), with a logits row per slot.
     *
     * @return each slot's position, the length it holds now
     */
    public int[] checkDecode(int[] slots, int[] tokens, float[] logits) {
        if (slots.length != tokens.length) {
            throw new IllegalArgumentException(slots.length + " slots but " + tokens.length
                    + " tokens for a decode step");
        }
        if (slots.length > lengths.length) {
            throw new IllegalArgumentException("decode step of " + slots.length + " sequences; this engine holds "
                    + lengths.length);
        }
        boolean[] seen = new boolean[lengths.length];
        int[] positions = new int[slots.length];
        for (int i = 0; i < slots.length; i++) {
            int slot = slots[i];
            requireSlot(slot);
            if (seen[slot]) {
                throw new IllegalArgumentException("slot " + slot + " appears twice in one decode step");
            }
            seen[slot] = true;
            if (lengths[slot] >= capacity) {
                throw new IllegalArgumentException("slot " + slot + " is full: it holds its capacity of " + capacity
                        + " tokens");
            }
            requireToken(tokens[i], "decode token for slot " + slot);
            positions[i] = lengths[slot];
        }
        requireLogits(logits, slots.length);
        return positions;
    }

    /** Records {@code count} more tokens in the slot. */
    public void advance(int slot, int count) {
        lengths[slot] += count;
    }

    /** Records one more token in each slot of a decode step. */
    public void advance(int[] slots) {
        for (int slot : slots) {
            lengths[slot]++;
        }
    }

    private void requireSlot(int slot) {
        if (slot < 0 || slot >= lengths.length) {
            throw new IllegalArgumentException("slot " + slot + " is outside [0, " + lengths.length + ")");
        }
    }

    private void requireToken(int id, String what) {
        if (id < 0 || id >= vocab) {
            throw new IllegalArgumentException(what + " is id " + id + ", outside the vocabulary [0, " + vocab + ")");
        }
    }

    private void requireLogits(float[] logits, int rows) {
        if (logits.length < (long) rows * vocab) {
            throw new IllegalArgumentException("logits array of " + logits.length + " floats; " + rows + " rows of "
                    + vocab + " need " + (long) rows * vocab);
        }
    }
}

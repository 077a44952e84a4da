package org.jtune.data;

/**
 * One training example as token ids, with {@code trainable[i]} true where token i is a target of the
 * loss (a completion or assistant token). The first token is never a target, whatever its flag:
 * nothing before it in the example predicts it.
 */
public record TokenizedExample(int[] ids, boolean[] trainable) {
    public TokenizedExample {
        if (ids.length != trainable.length) {
            throw new IllegalArgumentException("ids and trainable differ in length: " + ids.length + " vs " + trainable.length);
        }
    }

    public int length() {
        return ids.length;
    }

    /** The number of tokens the loss is computed on (the first token excluded). */
    public int targetCount() {
        int n = 0;
        for (int i = 1; i < trainable.length; i++) {
            n += trainable[i] ? 1 : 0;
        }
        return n;
    }

    /** The first {@code maxLength} tokens (this example when it is not longer). */
    public TokenizedExample keepStart(int maxLength) {
        if (ids.length <= maxLength) {
            return this;
        }
        return new TokenizedExample(java.util.Arrays.copyOf(ids, maxLength), java.util.Arrays.copyOf(trainable, maxLength));
    }
}

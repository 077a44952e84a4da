package org.jtune.data;

/**
 * One preference record as token ids: the shared prompt (with BOS, or as the chat template writes it,
 * generation prompt included) and the two completions (each ending with EOS, or with the template's
 * end-of-turn). The loss looks at completion tokens only.
 */
public record PreferencePair(int[] prompt, int[] chosen, int[] rejected) {
    public PreferencePair {
        if (chosen.length == 0 || rejected.length == 0) {
            throw new IllegalArgumentException("chosen and rejected completions must not be empty");
        }
    }

    /** prompt + chosen: the sequence the model sees for the chosen side. */
    public int[] chosenSequence() {
        return concat(prompt, chosen);
    }

    /** prompt + rejected. */
    public int[] rejectedSequence() {
        return concat(prompt, rejected);
    }

    /** Cuts each of prompt+chosen and prompt+rejected to {@code maxLength} keeping the start; the prompt must be shorter. */
    public PreferencePair keepStart(int maxLength) {
        if (prompt.length >= maxLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens leaves no room in " + maxLength);
        }
        int room = maxLength - prompt.length;
        return new PreferencePair(prompt, java.util.Arrays.copyOf(chosen, Math.min(room, chosen.length)),
                java.util.Arrays.copyOf(rejected, Math.min(room, rejected.length)));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

package org.jtune.data;

import java.util.Arrays;

/**
 * A padded batch of preference pairs laid out as TRL's DPO collator does: rows 0..n-1 are prompt +
 * chosen of pairs 0..n-1, rows n..2n-1 prompt + rejected; right-padded with the pad id to the longest
 * row. Labels are the completion tokens and {@link PackedBatch#IGNORE} on prompt and padding, not
 * shifted; the per-row sum of target log-probabilities is what DPO compares.
 *
 * @param pairs number of pairs (rows = 2 * pairs)
 * @param width tokens per row
 * @param inputIds row-major [2 * pairs][width]
 * @param labels row-major [2 * pairs][width]
 * @param lengths real tokens per row
 * @param examples the dataset index of each pair
 */
public record PreferenceBatch(int pairs, int width, int[] inputIds, int[] labels, int[] lengths, int[] examples) {

    public int rows() {
        return 2 * pairs;
    }

    static PreferenceBatch of(PreferenceDataset dataset, int[] examples) {
        int n = examples.length;
        int width = 0;
        for (int e : examples) {
            PreferencePair p = dataset.pair(e);
            width = Math.max(width, p.prompt().length + Math.max(p.chosen().length, p.rejected().length));
        }
        int[] ids = new int[2 * n * width];
        Arrays.fill(ids, dataset.specialTokens().pad());
        int[] labels = new int[2 * n * width];
        Arrays.fill(labels, PackedBatch.IGNORE);
        int[] lengths = new int[2 * n];
        for (int i = 0; i < n; i++) {
            PreferencePair p = dataset.pair(examples[i]);
            lengths[i] = place(p.prompt(), p.chosen(), ids, labels, i * width);
            lengths[n + i] = place(p.prompt(), p.rejected(), ids, labels, (n + i) * width);
        }
        return new PreferenceBatch(n, width, ids, labels, lengths, examples.clone());
    }

    private static int place(int[] prompt, int[] completion, int[] ids, int[] labels, int at) {
        System.arraycopy(prompt, 0, ids, at, prompt.length);
        System.arraycopy(completion, 0, ids, at + prompt.length, completion.length);
        // A completion at position 0 (empty prompt, no BOS) has nothing before it to predict it.
        for (int k = Math.max(1, prompt.length); k < prompt.length + completion.length; k++) {
            labels[at + k] = ids[at + k];
        }
        return prompt.length + completion.length;
    }
}

package org.jtune.data;

import java.util.Arrays;

/**
 * One example per row, right-padded with the pad id to the longest row of the batch. Labels are the
 * input ids where a token is a loss target and {@link PackedBatch#IGNORE} elsewhere (padding, prompt,
 * the first token), not shifted. Position ids are the column index; row r attends to its first
 * {@code lengths[r]} tokens.
 *
 * @param rows number of rows
 * @param width tokens per row (the longest example)
 * @param inputIds row-major [rows][width]
 * @param labels row-major [rows][width]
 * @param lengths real tokens per row
 * @param examples the dataset index of each row
 */
public record PaddedBatch(int rows, int width, int[] inputIds, int[] labels, int[] lengths, int[] examples) {

    public int targetCount() {
        int n = 0;
        for (int l : labels) {
            n += l != PackedBatch.IGNORE ? 1 : 0;
        }
        return n;
    }

    static PaddedBatch of(SftDataset dataset, int[] examples) {
        int width = 0;
        for (int e : examples) {
            width = Math.max(width, dataset.length(e));
        }
        int rows = examples.length;
        int[] ids = new int[rows * width];
        Arrays.fill(ids, dataset.specialTokens().pad());
        int[] labels = new int[rows * width];
        Arrays.fill(labels, PackedBatch.IGNORE);
        boolean[] trainable = new boolean[rows * width];
        int[] lengths = new int[rows];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            lengths[r] = dataset.length(examples[r]);
            dataset.store().copyTo(examples[r], ids, trainable, at);
            for (int k = 1; k < lengths[r]; k++) {
                if (trainable[at + k]) {
                    labels[at + k] = ids[at + k];
                }
            }
        }
        return new PaddedBatch(rows, width, ids, labels, lengths, examples.clone());
    }
}

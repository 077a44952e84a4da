package org.jtune.data;

/**
 * A padding-free batch: several rows of whole documents (examples) laid end to end in one token
 * sequence. Attention must stay inside each document: {@code cuSeqlens} gives the document bounds
 * (flash-attention's varlen form) and {@code documentIds} the document of each token. Position ids
 * restart at 0 in each document. Labels are the input ids where a token is a loss target and
 * {@link #IGNORE} elsewhere, not shifted (the loss compares position t-1's prediction with label t,
 * as Hugging Face models do); the first token of every document is {@link #IGNORE}, so no prediction
 * crosses a document boundary.
 *
 * @param inputIds token ids, all documents end to end
 * @param labels targets aligned with inputIds, {@link #IGNORE} where no loss is computed
 * @param positionIds position of each token within its document
 * @param documentIds index (0-based, within this batch) of the document of each token
 * @param cuSeqlens document boundaries: document d is tokens [cuSeqlens[d], cuSeqlens[d+1])
 * @param rowStarts row boundaries: row r is tokens [rowStarts[r], rowStarts[r+1]), each at most the row length
 * @param examples the dataset index of each document
 * @param maxSeqlen the longest document
 */
public record PackedBatch(int[] inputIds, int[] labels, int[] positionIds, int[] documentIds, int[] cuSeqlens,
                          int[] rowStarts, int[] examples, int maxSeqlen) {
    /** The label of a token the loss ignores, as in PyTorch's cross-entropy. */
    public static final int IGNORE = -100;

    public int tokenCount() {
        return inputIds.length;
    }

    public int documentCount() {
        return examples.length;
    }

    public int rowCount() {
        return rowStarts.length - 1;
    }

    /** The number of labels the loss is computed on. */
    public int targetCount() {
        int n = 0;
        for (int l : labels) {
            n += l != IGNORE ? 1 : 0;
        }
        return n;
    }

    /** Lays out the given rows of dataset examples. */
    static PackedBatch of(SftDataset dataset, int[][] rows) {
        int tokens = 0;
        int documents = 0;
        for (int[] row : rows) {
            documents += row.length;
            for (int e : row) {
                tokens += dataset.length(e);
            }
        }
        int[] ids = new int[tokens];
        boolean[] trainable = new boolean[tokens];
        int[] labels = new int[tokens];
        int[] positions = new int[tokens];
        int[] documentIds = new int[tokens];
        int[] cu = new int[documents + 1];
        int[] rowStarts = new int[rows.length + 1];
        int[] examples = new int[documents];
        int at = 0;
        int d = 0;
        int maxSeqlen = 0;
        for (int r = 0; r < rows.length; r++) {
            rowStarts[r] = at;
            for (int e : rows[r]) {
                int n = dataset.length(e);
                dataset.store().copyTo(e, ids, trainable, at);
                for (int k = 0; k < n; k++) {
                    positions[at + k] = k;
                    documentIds[at + k] = d;
                    labels[at + k] = k > 0 && trainable[at + k] ? ids[at + k] : IGNORE;
                }
                examples[d] = e;
                maxSeqlen = Math.max(maxSeqlen, n);
                at += n;
                cu[++d] = at;
            }
        }
        rowStarts[rows.length] = at;
        return new PackedBatch(ids, labels, positions, documentIds, cu, rowStarts, examples, maxSeqlen);
    }
}

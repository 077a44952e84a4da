package org.jtune.model;

import java.util.HashSet;
import java.util.Set;

/**
 * A training batch of {@code batchSize} rows of {@code seqLen} tokens, flattened row by row. Each row may pack
 * several documents: tokens attend only within their document, whose positions restart at 0. Labels follow HF:
 * the logits at token t are scored against {@code labels[t+1]} of the same row, and -100 marks a label to ignore.
 */
public record Batch(int batchSize, int seqLen, int[] tokens, int[] positions, int[] documentIds, int[] labels) {

    /** The label value that marks a token not to be predicted (as in HF). */
    public static final int IGNORE_INDEX = -100;

    public Batch {
        int n = batchSize * seqLen;
        if (batchSize <= 0 || seqLen <= 0) {
            throw new IllegalArgumentException("batch needs at least one row and one token, got " + batchSize
                    + " x " + seqLen);
        }
        if (tokens.length != n || positions.length != n || documentIds.length != n || labels.length != n) {
            throw new IllegalArgumentException("batch arrays must all hold " + batchSize + " x " + seqLen + " values");
        }
        for (int b = 0; b < batchSize; b++) {
            Set<Integer> seen = new HashSet<>();
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                if (positions[i] < 0) {
                    throw new IllegalArgumentException("negative position id " + positions[i] + " at row " + b
                            + ", token " + t);
                }
                boolean continues = t > 0 && documentIds[i] == documentIds[i - 1];
                if (!continues && !seen.add(documentIds[i])) {
                    throw new IllegalArgumentException("document id " + documentIds[i] + " appears in two separate"
                            + " runs of row " + b + " (each document must be one contiguous run of tokens)");
                }
            }
        }
    }

    /** Rows of one document each, positions 0, 1, 2, ... */
    public static Batch of(int[][] tokens, int[][] labels) {
        int[][] docs = new int[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            docs[b] = new int[tokens[b].length];
        }
        return packed(tokens, labels, docs);
    }

    /** Packed rows: {@code documentIds[b][t]} names the document of each token; positions restart per document. */
    public static Batch packed(int[][] tokens, int[][] labels, int[][] documentIds) {
        int[][] positions = new int[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            positions[b] = new int[documentIds[b].length];
            for (int t = 1; t < positions[b].length; t++) {
                positions[b][t] = documentIds[b][t] == documentIds[b][t - 1] ? positions[b][t - 1] + 1 : 0;
            }
        }
        return withPositions(tokens, labels, positions, documentIds);
    }

    /** Everything explicit. */
    public static Batch withPositions(int[][] tokens, int[][] labels, int[][] positions, int[][] documentIds) {
        int rows = tokens.length;
        int len = rows == 0 ? 0 : tokens[0].length;
        return new Batch(rows, len, flatten(tokens, len, "tokens"), flatten(positions, len, "positions"),
                flatten(documentIds, len, "document ids"), flatten(labels, len, "labels"));
    }

    private static int[] flatten(int[][] rows, int len, String what) {
        int[] flat = new int[rows.length * len];
        for (int b = 0; b < rows.length; b++) {
            if (rows[b].length != len) {
                throw new IllegalArgumentException(what + " row " + b + " has " + rows[b].length
                        + " entries, expected " + len + " (rows must be padded to one length)");
            }
            System.arraycopy(rows[b], 0, flat, b * len, len);
        }
        return flat;
    }

    public int tokenCount() {
        return batchSize * seqLen;
    }

    /**
     * The tokens a mean loss over this batch averages over: positions t ≥ 1 of each row whose label is not
     * {@link #IGNORE_INDEX} (the model scores the logits at t-1 against the label at t).
     */
    public long labelledTokens() {
        long n = 0;
        for (int row = 0; row < batchSize; row++) {
            for (int t = 1; t < seqLen; t++) {
                if (labels[row * seqLen + t] != IGNORE_INDEX) {
                    n++;
                }
            }
        }
        return n;
    }
}

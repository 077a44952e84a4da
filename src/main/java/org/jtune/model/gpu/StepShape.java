package org.jtune.model.gpu;

/**
 * The largest work one training step on the GPU is sized for: micro-batches of up to {@code maxRows} rows of
 * {@code maxSeqLength} tokens, and up to {@code microBatches} of them accumulated into one optimizer step.
 */
public record StepShape(int maxRows, int maxSeqLength, int microBatches) {
    public StepShape {
        if (maxRows <= 0 || maxSeqLength <= 0 || microBatches <= 0) {
            throw new IllegalArgumentException("step shape needs positive sizes, got " + maxRows + " rows x "
                    + maxSeqLength + " tokens, " + microBatches + " micro-batches");
        }
        if ((long) maxRows * maxSeqLength > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(maxRows + " x " + maxSeqLength + " tokens exceed the int32 token index");
        }
    }

    /** Tokens of the largest micro-batch. */
    public int maxTokens() {
        return maxRows * maxSeqLength;
    }

    /** E.g. "micro-batches of 2 x 2048 tokens". */
    public String describe() {
        return "micro-batches of " + maxRows + " x " + maxSeqLength + " tokens";
    }
}

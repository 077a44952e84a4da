package org.jtune.train;

import org.jtune.model.Batch;
import org.jtune.model.cpu.Ops;

/** Counts the tokens a batch's loss is averaged over: labels other than -100 after the causal shift. */
final class LabelledTokens {
    private LabelledTokens() {}

    /** Positions t ≥ 1 of each row whose label is not -100 (the model scores logits at t-1 against label t). */
    static long count(Batch batch) {
        long n = 0;
        int[] labels = batch.labels();
        for (int row = 0; row < batch.batchSize(); row++) {
            for (int t = 1; t < batch.seqLen(); t++) {
                if (labels[row * batch.seqLen() + t] != Ops.IGNORE_INDEX) {
                    n++;
                }
            }
        }
        return n;
    }
}

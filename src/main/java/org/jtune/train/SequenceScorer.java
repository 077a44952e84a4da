package org.jtune.train;

import org.jtune.model.Batch;
import org.jtune.model.cpu.LlamaModel;
import org.jtune.model.gpu.GpuLlamaModel;

/**
 * What DPO needs of a model, on either backend: each row's summed completion log p with the adapters off (the
 * reference) and on (the policy), and the backward of a weighted sum of the policy's.
 */
interface SequenceScorer {

    /** The base model's per-row log p: the adapters are off for this forward, and no backward follows. */
    double[] referenceLogProbs(Batch batch);

    /** The policy's per-row log p, keeping what {@link #backward} needs. */
    double[] policyLogProbs(Batch batch);

    /**
     * Adds the gradient of {@code sum_r rowCoefficients[r] · log p[r]} of the last {@link #policyLogProbs} to the
     * adapters' gradients.
     */
    void backward(double[] rowCoefficients);

    /** The CPU engine. */
    static SequenceScorer of(LlamaModel model) {
        return new SequenceScorer() {
            @Override
            public double[] referenceLogProbs(Batch batch) {
                model.setAdaptersEnabled(false);
                try {
                    return model.forwardSequenceLogProbs(batch);
                } finally {
                    model.setAdaptersEnabled(true);
                }
            }

            @Override
            public double[] policyLogProbs(Batch batch) {
                return model.forwardSequenceLogProbs(batch);
            }

            @Override
            public void backward(double[] rowCoefficients) {
                model.backward(rowCoefficients);
            }
        };
    }

    /** The GPU step. */
    static SequenceScorer of(GpuLlamaModel model) {
        return new SequenceScorer() {
            @Override
            public double[] referenceLogProbs(Batch batch) {
                return model.referenceLogProbs(batch);
            }

            @Override
            public double[] policyLogProbs(Batch batch) {
                return model.forwardSequenceLogProbs(batch);
            }

            @Override
            public void backward(double[] rowCoefficients) {
                model.backward(rowCoefficients);
            }
        };
    }
}

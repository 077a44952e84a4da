package org.jtune.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.cpu.LlamaModel;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Causal-LM cross-entropy, the mean over all labelled tokens of a step (see {@link GradientAccumulation}). */
final class SftObjective implements Objective<Batch> {
    private final GradientAccumulation accumulation;

    SftObjective(LoraAdapters lora) {
        // the sums live as long as the trainer that owns this objective
        this.accumulation = new GradientAccumulation(lora, Arena.ofAuto());
    }

    @Override
    public ObjectNode settings() {
        return TrainingCheckpoint.SFT_OBJECTIVE.deepCopy();
    }

    @Override
    public int rows(Batch batch) {
        return batch.batchSize();
    }

    @Override
    public int seqLen(Batch batch) {
        return batch.seqLen();
    }

    @Override
    public Step step(LlamaModel model, List<Batch> window) {
        GradientAccumulation.Window w = accumulation.accumulate(model, window);
        return new Step(w.loss(), w.tokens(), Map.of());
    }

    @Override
    public List<Tensor> gradients() {
        return accumulation.gradients();
    }

    /** Mean loss over all labelled tokens of the whole eval source. */
    @Override
    public Eval evaluate(LlamaModel model, Iterator<Batch> evalEpoch) {
        double lossSum = 0;
        long tokens = 0;
        while (evalEpoch.hasNext()) {
            Batch b = evalEpoch.next();
            long n = LabelledTokens.count(b);
            if (n > 0) {
                lossSum += (double) model.forward(b) * n;
                tokens += n;
            }
        }
        return new Eval(tokens == 0 ? Double.NaN : lossSum / tokens, tokens, Map.of());
    }
}

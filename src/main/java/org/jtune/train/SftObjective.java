package org.jtune.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.Batch;
import org.jtune.model.Engine;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Causal-LM cross-entropy, the mean over all labelled tokens of a step: each micro-batch weighted by its share of
 * them, as one batch holding all their rows would give (see {@link Engine#accumulateMeanLoss}).
 */
final class SftObjective implements Objective<Batch> {

    @Override
    public ObjectNode settings() {
        return TrainingCheckpoint.SFT_OBJECTIVE.deepCopy();
    }

    @Override
    public int maxRows(int batchSize) {
        return batchSize;
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
    public List<String> metricNames() {
        return List.of();
    }

    @Override
    public Step accumulate(Engine engine, List<Batch> window) {
        Engine.MeanLoss loss = engine.accumulateMeanLoss(window);
        long tokens = 0;
        for (Batch b : window) {
            tokens += b.tokenCount();
        }
        return new Step(loss.loss(), tokens, Map.of(), loss.labelledTokens());
    }

    /** Mean loss over all labelled tokens of the whole eval source. */
    @Override
    public Eval evaluate(Engine engine, Iterator<Batch> evalEpoch) {
        double lossSum = 0;
        long tokens = 0;
        while (evalEpoch.hasNext()) {
            Engine.MeanLoss m = engine.meanLoss(evalEpoch.next());
            lossSum += m.loss() * m.labelledTokens();
            tokens += m.labelledTokens();
        }
        return new Eval(tokens == 0 ? Double.NaN : lossSum / tokens, tokens, Map.of(), tokens);
    }
}

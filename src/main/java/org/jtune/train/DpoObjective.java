package org.jtune.train;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.data.PreferenceBatch;
import org.jtune.model.Batch;
import org.jtune.model.Engine;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DPO on preference batches (chosen rows then rejected rows, as TRL lays them out): per pair the summed completion
 * log-probabilities of the policy (adapters on) and of the reference (the same base with the adapters off, no
 * gradient), the loss of {@link DpoLoss}, and its gradient through {@link Engine#backwardLogProbs}. A step's loss is the mean over all pairs of its micro-batches; each micro-batch's row
 * coefficients are divided by the step's pair count, so its gradient adds straight into the adapters' gradient
 * tensors. Logs TRL's metrics.
 */
final class DpoObjective implements Objective<PreferenceBatch> {
    static final String REWARDS_CHOSEN = "rewards/chosen", REWARDS_REJECTED = "rewards/rejected",
            REWARDS_ACCURACIES = "rewards/accuracies", REWARDS_MARGINS = "rewards/margins",
            LOGPS_CHOSEN = "logps/chosen", LOGPS_REJECTED = "logps/rejected";

    private final DpoArguments dpo;
    private final DpoLoss loss;
    /** Precomputed reference log p per dataset index: {chosen, rejected}; null when computed in each step. */
    private Map<Integer, double[]> trainReference, evalReference;

    DpoObjective(DpoArguments dpo) {
        this.dpo = dpo;
        this.loss = dpo.loss();
    }

    /** Precomputes the reference log-probabilities where the run asks for them. */
    @Override
    public void prepare(Engine engine, Iterator<PreferenceBatch> trainEpoch, Iterator<PreferenceBatch> evalEpoch) {
        if (dpo.precomputeRefLogProbs()) {
            trainReference = referenceTable(engine, trainEpoch);
            evalReference = evalEpoch == null ? null : referenceTable(engine, evalEpoch);
        }
    }

    private static Map<Integer, double[]> referenceTable(Engine engine, Iterator<PreferenceBatch> epoch) {
        Map<Integer, double[]> table = new HashMap<>();
        while (epoch.hasNext()) {
            PreferenceBatch pb = epoch.next();
            double[] ref = engine.referenceLogProbs(toModelBatch(pb));
            for (int i = 0; i < pb.pairs(); i++) {
                table.put(pb.examples()[i], new double[] {ref[i], ref[pb.pairs() + i]});
            }
        }
        return table;
    }

    private static double[] referenceLogProbs(Engine engine, PreferenceBatch pb, Batch batch,
                                              Map<Integer, double[]> table) {
        if (table == null) {
            return engine.referenceLogProbs(batch);
        }
        double[] ref = new double[pb.rows()];
        for (int i = 0; i < pb.pairs(); i++) {
            double[] pair = table.get(pb.examples()[i]);
            if (pair == null) {
                throw new IllegalStateException("no precomputed reference log-probabilities for example "
                        + pb.examples()[i] + ": the source gave it in training but not in the precomputing pass");
            }
            ref[i] = pair[0];
            ref[pb.pairs() + i] = pair[1];
        }
        return ref;
    }

    /** Rows of one document each, positions 0, 1, 2, ...; right padding is never attended to by real tokens. */
    static Batch toModelBatch(PreferenceBatch pb) {
        int rows = pb.rows(), width = pb.width();
        int[] positions = new int[rows * width];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % width;
        }
        return new Batch(rows, width, pb.inputIds(), positions, new int[rows * width], pb.labels());
    }

    /** Labelled tokens of each row after the causal shift: the completion tokens that are scored. */
    static long[] completionTokens(Batch batch) {
        long[] counts = new long[batch.batchSize()];
        for (int i = 0; i < batch.tokenCount(); i++) {
            if (i % batch.seqLen() > 0 && batch.labels()[i] != Batch.IGNORE_INDEX) {
                counts[i / batch.seqLen()]++;
            }
        }
        return counts;
    }

    /** The loss and its parameters; where the reference comes from does not change the numbers. */
    @Override
    public ObjectNode settings() {
        return JsonNodeFactory.instance.objectNode().put("objective", "dpo").put("loss_type", dpo.lossType().trlName())
                .put("beta", dpo.beta()).put("label_smoothing", dpo.labelSmoothing());
    }

    /** Each pair takes two rows: its chosen and its rejected sequence. */
    @Override
    public int maxRows(int batchSize) {
        return Math.multiplyExact(2, batchSize);
    }

    @Override
    public int rows(PreferenceBatch batch) {
        return batch.rows();
    }

    @Override
    public int seqLen(PreferenceBatch batch) {
        return batch.width();
    }

    @Override
    public List<String> metricNames() {
        return List.of(REWARDS_CHOSEN, REWARDS_REJECTED, REWARDS_ACCURACIES, REWARDS_MARGINS, LOGPS_CHOSEN,
                LOGPS_REJECTED);
    }

    /** The gradient of the window's loss, the mean over its pairs, and the step's numbers. */
    @Override
    public Step accumulate(Engine engine, List<PreferenceBatch> window) {
        engine.zeroGradients();
        long pairs = 0, tokens = 0;
        for (PreferenceBatch pb : window) {
            pairs += pb.pairs();
            tokens += (long) pb.rows() * pb.width();
        }
        Totals totals = new Totals();
        for (PreferenceBatch pb : window) {
            Batch batch = toModelBatch(pb);
            // the reference first: its forward overwrites the activations the policy's backward needs
            double[] ref = referenceLogProbs(engine, pb, batch, trainReference);
            double[] policy = engine.policyLogProbs(batch);
            double[] coefficients = totals.add(pb.pairs(), policy, ref, completionTokens(batch));
            for (int r = 0; r < coefficients.length; r++) {
                coefficients[r] /= pairs;
            }
            engine.backwardLogProbs(coefficients);
        }
        return new Step(totals.lossSum / pairs, tokens, totals.means(), pairs);
    }

    /** Mean loss and metrics over all pairs of the eval source; the tokens are the completion tokens scored. */
    @Override
    public Eval evaluate(Engine engine, Iterator<PreferenceBatch> evalEpoch) {
        Totals totals = new Totals();
        long scored = 0;
        while (evalEpoch.hasNext()) {
            PreferenceBatch pb = evalEpoch.next();
            Batch batch = toModelBatch(pb);
            double[] ref = referenceLogProbs(engine, pb, batch, evalReference);
            double[] policy = engine.policyLogProbs(batch);
            long[] counts = completionTokens(batch);
            totals.add(pb.pairs(), policy, ref, counts);
            for (long c : counts) {
                scored += c;
            }
        }
        return new Eval(totals.pairs == 0 ? Double.NaN : totals.lossSum / totals.pairs, scored, totals.means(),
                totals.pairs);
    }

    /** Sums of the loss and of TRL's metrics over pairs. */
    private final class Totals {
        long pairs;
        double lossSum, rewardsChosen, rewardsRejected, accuracies, margins, logpsChosen, logpsRejected;

        /** Adds a batch's pairs; returns the derivative of the sum of their losses by each row's log p. */
        double[] add(int n, double[] policy, double[] ref, long[] tokens) {
            double[] coefficients = new double[2 * n];
            for (int i = 0; i < n; i++) {
                DpoLoss.PairLoss p = loss.pair(policy[i], policy[n + i], ref[i], ref[n + i], tokens[i], tokens[n + i]);
                coefficients[i] = p.dChosen();
                coefficients[n + i] = p.dRejected();
                double chosen = loss.reward(policy[i], ref[i]), rejected = loss.reward(policy[n + i], ref[n + i]);
                lossSum += p.loss();
                rewardsChosen += chosen;
                rewardsRejected += rejected;
                accuracies += chosen > rejected ? 1 : 0;
                margins += chosen - rejected;
                logpsChosen += policy[i];
                logpsRejected += policy[n + i];
            }
            pairs += n;
            return coefficients;
        }

        Map<String, Double> means() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put(REWARDS_CHOSEN, rewardsChosen / pairs);
            m.put(REWARDS_REJECTED, rewardsRejected / pairs);
            m.put(REWARDS_ACCURACIES, accuracies / pairs);
            m.put(REWARDS_MARGINS, margins / pairs);
            m.put(LOGPS_CHOSEN, logpsChosen / pairs);
            m.put(LOGPS_REJECTED, logpsRejected / pairs);
            return m;
        }
    }
}

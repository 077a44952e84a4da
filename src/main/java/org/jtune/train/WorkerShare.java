package org.jtune.train;

import org.jtune.model.DataParallelEngine;
import org.jtune.model.Engine;
import org.jtune.model.LoraAdapters;
import org.jtune.model.OptimizerState;
import org.jtune.parallel.Communicator;
import org.jtune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * One worker's part of a data-parallel run, and how the parts become the run's numbers. Every worker reads the same
 * micro-batches in the same order (the order of one worker with the same global batch); worker r takes those at
 * positions r, r + size, r + 2·size, ... of each step's window (as accelerate shards a data loader), and its loss and
 * gradient enter the step's by its weight, so the sum over workers is what one worker would have computed over the
 * whole window. With one worker every method leaves its input as it is.
 */
final class WorkerShare {
    private final Communicator communicator;
    private final int rank, size;

    WorkerShare(Communicator communicator) {
        this.communicator = communicator;
        this.rank = communicator.rank();
        this.size = communicator.size();
    }

    boolean single() {
        return size == 1;
    }

    /** Whether this worker writes the run's files (metrics, checkpoints, the loss plot) and shows progress. */
    boolean writesFiles() {
        return rank == 0;
    }

    int size() {
        return size;
    }

    /** Fails the other workers with this worker's error. */
    void fail(Throwable error) {
        communicator.fail(error);
    }

    /** The micro-batches of a step's window that this worker runs. */
    <B> List<B> of(List<B> window) {
        if (single()) {
            return window;
        }
        List<B> mine = new ArrayList<>();
        for (int i = rank; i < window.size(); i += size) {
            mine.add(window.get(i));
        }
        return mine;
    }

    /** The batches of an eval epoch that this worker scores, in the same interleaving. */
    <B> Iterator<B> of(Iterator<B> epoch) {
        if (single()) {
            return epoch;
        }
        return new Iterator<>() {
            private long position = -1;
            private B next;

            @Override
            public boolean hasNext() {
                while (next == null && epoch.hasNext()) {
                    B b = epoch.next();
                    if (++position % size == rank) {
                        next = b;
                    }
                }
                return next != null;
            }

            @Override
            public B next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                B b = next;
                next = null;
                return b;
            }
        };
    }

    /** Refuses an engine that cannot sum its gradients with other workers'. */
    void requireCapable(Engine engine, String placement) {
        if (!single() && !(engine instanceof DataParallelEngine)) {
            throw new IllegalStateException("data-parallel training over " + size + " workers needs an engine whose"
                    + " gradients a communicator can sum; the engine on " + placement + " cannot");
        }
    }

    /** Worker 0's adapters and optimizer moments in every worker's, so that all start from the same state. */
    void startAlike(LoraAdapters lora, OptimizerState optimizer) {
        if (single()) {
            return;
        }
        for (String name : lora.names()) {
            communicator.broadcast(lora.tensor(name).segment(), 0);
        }
        for (List<Tensor> moments : List.of(optimizer.firstMoments(), optimizer.secondMoments())) {
            for (Tensor t : moments) {
                communicator.broadcast(t.segment(), 0);
            }
        }
    }

    /**
     * The run's step from this worker's: losses and metrics averaged by weight, tokens summed. Then this worker's
     * gradients, weighted by its share of the step's weight, are summed over the workers in the engine.
     */
    Objective.Step step(Engine engine, Objective.Step local, List<String> metricNames) {
        if (single()) {
            return local;
        }
        double[] totals = totals(local.loss(), local.tokens(), local.metrics(), local.weight(), metricNames);
        double weight = totals[0];
        ((DataParallelEngine) engine).sumGradients(weight == 0 ? 0 : local.weight() / weight,
                communicator::allReduceSum);
        // a window without labelled tokens has loss 0 on one worker too
        return new Objective.Step(weight == 0 ? 0 : totals[1] / weight, Math.round(totals[2]),
                means(totals, metricNames), weight);
    }

    /** The run's evaluation from this worker's share of the eval split. */
    Objective.Eval eval(Objective.Eval local, List<String> metricNames) {
        if (single()) {
            return local;
        }
        double[] totals = totals(local.loss(), local.labelledTokens(), local.metrics(), local.weight(), metricNames);
        double weight = totals[0];
        return new Objective.Eval(weight == 0 ? Double.NaN : totals[1] / weight, Math.round(totals[2]),
                means(totals, metricNames), weight);
    }

    /** Sums over workers of: weight, weighted loss, tokens, weighted metrics (a worker of weight 0 adds zeros). */
    private double[] totals(double loss, long tokens, Map<String, Double> metrics, double weight,
                            List<String> metricNames) {
        double[] v = new double[3 + metricNames.size()];
        v[0] = weight;
        v[1] = weight == 0 ? 0 : loss * weight;
        v[2] = tokens;
        for (int m = 0; m < metricNames.size(); m++) {
            v[3 + m] = weight == 0 ? 0 : metrics.get(metricNames.get(m)) * weight;
        }
        communicator.allReduceSum(v);
        return v;
    }

    private static Map<String, Double> means(double[] totals, List<String> metricNames) {
        Map<String, Double> means = new LinkedHashMap<>();
        for (int m = 0; m < metricNames.size(); m++) {
            means.put(metricNames.get(m), totals[0] == 0 ? Double.NaN : totals[3 + m] / totals[0]);
        }
        return means;
    }
}

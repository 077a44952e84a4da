package org.jtune.train.report;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Receives a run's progress: its start, every step, every logging step, every evaluation, and the end. */
public interface TrainingListener {

    /** After every optimizer step. */
    record StepProgress(long step, long totalSteps, double loss, double learningRate, double tokensPerSecond,
                        double etaSeconds) {}

    /**
     * Every {@code loggingSteps} steps (and at the last): the loss averaged over the steps since the previous log, the
     * learning rate and gradient norm of this step (the norm before clipping), and throughput since the previous log.
     * The learning rate is the one this step used (transformers logs the scheduler's rate after stepping it, which is
     * the next step's).
     */
    record TrainLog(long step, double epoch, double loss, double learningRate, double gradNorm, long tokens,
                    double tokensPerSecond, Map<String, Double> metrics) {
        /**
         * @param metrics further named metrics of the objective (DPO's {@code rewards/margins}, ...), averaged like
         *                the loss, in a fixed order; empty for SFT
         */
        public TrainLog {
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        }

        /** A log line without further metrics. */
        public TrainLog(long step, double epoch, double loss, double learningRate, double gradNorm, long tokens,
                        double tokensPerSecond) {
            this(step, epoch, loss, learningRate, gradNorm, tokens, tokensPerSecond, Map.of());
        }
    }

    /**
     * An evaluation: the mean loss over the eval source (per labelled token for SFT, per pair for DPO), the number
     * of labelled tokens scored, and the objective's further metrics over the whole source.
     */
    record EvalLog(long step, double epoch, double loss, long labelledTokens, Map<String, Double> metrics) {
        public EvalLog {
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        }

        /** An evaluation without further metrics. */
        public EvalLog(long step, double epoch, double loss, long labelledTokens) {
            this(step, epoch, loss, labelledTokens, Map.of());
        }
    }

    /** Once the engine is open, before the first step: one line on the memory it holds. */
    default void onStart(String memoryReport) {}

    default void onStep(StepProgress progress) {}

    default void onLog(TrainLog log) {}

    default void onEval(EvalLog log) {}

    /** After the last step. */
    default void onEnd() {}
}

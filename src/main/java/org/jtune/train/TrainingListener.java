package org.jtune.train;

/** Receives a run's progress: every step, every logging step, every evaluation, and the end. */
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
                    double tokensPerSecond) {}

    /** An evaluation: the mean loss over all labelled tokens of the eval source. */
    record EvalLog(long step, double epoch, double loss, long labelledTokens) {}

    default void onStep(StepProgress progress) {}

    default void onLog(TrainLog log) {}

    default void onEval(EvalLog log) {}

    /** After the last step. */
    default void onEnd() {}
}

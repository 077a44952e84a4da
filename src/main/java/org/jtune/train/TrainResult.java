package org.jtune.train;

import java.nio.file.Path;

/**
 * What a call to {@link Trainer#train()} or {@link Trainer#resume} did.
 *
 * @param trainingLoss   mean of the step losses of the steps this call ran (NaN if none)
 * @param lastEvalLoss   the last eval loss, NaN if there was no evaluation
 * @param lastCheckpoint the last checkpoint written by this call, null if none
 */
public record TrainResult(long globalStep, double trainingLoss, double lastEvalLoss, Path lastCheckpoint) {}

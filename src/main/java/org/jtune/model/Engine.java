package org.jtune.model;

import java.util.List;

/**
 * What a trainer needs of a model placed on a device with LoRA adapters to train: the gradient of a causal-LM loss
 * over the micro-batches of a step, per-row sequence log-probabilities and the backward of a weighted sum of them
 * (preference objectives), one optimizer update, and the adapters and optimizer moments in and out for checkpoints.
 * Implemented by the CPU engine (the oracle) and the GPU engine; a trainer sees nothing else of either.
 *
 * <p>The engine holds one set of LoRA gradients. {@link #accumulateMeanLoss} replaces it; {@link #zeroGradients}
 * then {@link #backwardLogProbs} build it up; {@link #optimizerStep} consumes it. The optimizer (AdamW, clipping
 * by global norm) runs with the {@link OptimizerSettings} the engine was opened with.
 */
public interface Engine extends AutoCloseable {

    /** A loss averaged over labelled tokens, and how many there were. */
    record MeanLoss(double loss, long labelledTokens) {}

    /** Opens the engines of one training setup: a trainer opens one for each run and closes it at the end. */
    interface Factory {
        Engine open();

        /** Where the engines run and why there, e.g. "the GPU (GPU 0, NVIDIA H200)". */
        String placement();
    }

    /** Decides where the engines of a training setup run: the backend's choice. */
    @FunctionalInterface
    interface Placement {
        Factory trainingEngines(EngineSpec spec);
    }

    /**
     * Forward and backward over the micro-batches of one optimizer step: the gradient of the mean cross-entropy over
     * all labelled tokens of all of them (HF shift: the logits at t score the label at t+1) replaces the engine's
     * gradients. A window without labelled tokens gives loss 0 and zero gradients.
     */
    MeanLoss accumulateMeanLoss(List<Batch> microBatches);

    /**
     * The mean cross-entropy of one batch, for evaluation; forward only where the engine has such a pass, so the
     * engine's gradients are undefined afterwards (call it between optimizer steps).
     */
    MeanLoss meanLoss(Batch batch);

    /** Sets the gradients to zero, before {@link #backwardLogProbs} adds to them. */
    void zeroGradients();

    /**
     * Per row, the sum over its labelled tokens of {@code log p(label)} of the base model alone (every LoRA branch
     * skipped): the reference of DPO. No backward follows it, and it ends any pending {@link #policyLogProbs}.
     */
    double[] referenceLogProbs(Batch batch);

    /** Per row, the summed {@code log p(label)} with the adapters on, keeping what {@link #backwardLogProbs} needs. */
    double[] policyLogProbs(Batch batch);

    /**
     * Adds the gradient of {@code sum_r rowCoefficients[r] · log p[r]} of the last {@link #policyLogProbs} to the
     * engine's gradients.
     *
     * @throws IllegalStateException if no policy forward is pending
     */
    void backwardLogProbs(double[] rowCoefficients);

    /**
     * Clips the gradients by their global norm (to {@link OptimizerSettings#maxGradNorm()}, unless 0) and applies
     * one AdamW update with {@code learningRate}; returns the norm before clipping.
     *
     * @throws ArithmeticException if the norm is NaN or infinite (the adapters are then left unchanged)
     */
    double optimizerStep(double learningRate);

    /** Copies the trained adapters into {@code into} (it may be the adapters the engine was opened with). */
    void storeAdapters(LoraAdapters into);

    /** Takes the matrices of {@code from} as the adapters to train, with a fresh optimizer (zero moments, step 0). */
    void loadAdapters(LoraAdapters from);

    /** Copies the optimizer's moments and update count into {@code into}, to save them. */
    void storeOptimizerState(OptimizerState into);

    /**
     * Restores the optimizer state a checkpoint saved, after {@link #loadAdapters} (which starts a fresh one): the
     * next update continues its bias correction and moments.
     */
    void loadOptimizerState(OptimizerState from);

    /** One line: the memory the engine holds, by use. */
    String memoryReport();

    @Override
    void close();
}

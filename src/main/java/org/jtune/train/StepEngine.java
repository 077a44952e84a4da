package org.jtune.train;

import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * How a {@link TrainingLoop} computes its steps on one backend: the model, the objective's gradient, clipping and
 * the optimizer update, and the scoring of the eval split. The loop keeps the schedule, logging and checkpoints.
 *
 * @param <B> the micro-batch type
 */
interface StepEngine<B> extends AutoCloseable {

    /** Opens the engine of a run. */
    interface Factory<B> {
        StepEngine<B> open();

        /**
         * Why a checkpoint cannot be resumed on this backend, or null where it can (the optimizer's moments are
         * saved and restored exactly).
         */
        String resumeRefusal();
    }

    /** One optimizer step: the objective's numbers and the global gradient norm before clipping. */
    record Update(Objective.Step step, double gradNorm) {}

    /** Runs once before the first step of a run or a resume; see {@link Objective#prepare}. */
    void prepare(Iterator<B> trainEpoch, Iterator<B> evalEpoch);

    /** The gradient of the window's loss, clipped, and one optimizer update at learning rate {@code lr}. */
    Update step(List<B> window, double lr);

    /** Scores every batch of the eval split. */
    Objective.Eval evaluate(Iterator<B> evalEpoch);

    /** Copies the trained adapters into the adapters the run was given (before a checkpoint, and at the end). */
    void storeAdapters();

    /** The optimizer whose moments checkpoints save; empty where the backend cannot hand them out. */
    Optional<AdamW> optimizer();

    /**
     * Copies the optimizer's state into {@link #optimizer()} before a checkpoint saves it; nothing to do where that
     * is the optimizer itself.
     */
    default void storeOptimizer() {}

    /**
     * Takes up the adapters and optimizer state that a checkpoint restored into the run's adapters and
     * {@link #optimizer()}; nothing to do where the engine trains those in place.
     */
    default void loadRestored() {}

    @Override
    void close();
}

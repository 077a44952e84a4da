package org.jtune.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.Engine;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What a trainer optimises: how a window of micro-batches becomes the gradient of one optimizer step on an
 * {@link Engine}, and how the eval split is scored. Supervised fine-tuning and DPO differ only here.
 *
 * @param <B> the micro-batch type
 */
interface Objective<B> {

    /**
     * One optimizer step's loss, tokens seen (for throughput) and further metrics (means over the step); its weight is
     * what the loss and the metrics are means over (labelled tokens, pairs), by which the steps of the workers of a
     * data-parallel run are averaged into the run's.
     */
    record Step(double loss, long tokens, Map<String, Double> metrics, double weight) {}

    /** The score of the eval split: its loss, the labelled tokens scored and further metrics, with their weight. */
    record Eval(double loss, long labelledTokens, Map<String, Double> metrics, double weight) {}

    /**
     * Runs once at the start of a run and of every resume, before the first step, with one epoch (seeded as the
     * run) of the training and the eval batches (null without an eval split); for work over the whole data that the
     * steps then use, such as precomputed reference log-probabilities.
     */
    default void prepare(Engine engine, Iterator<B> trainEpoch, Iterator<B> evalEpoch) {}

    /**
     * The objective and its settings that change every step's numbers, saved in checkpoints: a run resumes only
     * under the same ones. {@code {"objective": "sft"}} for SFT, which checkpoints without this file were.
     */
    ObjectNode settings();

    /** Model rows a micro-batch of {@code batchSize} examples (per_device_train_batch_size) takes at most. */
    int maxRows(int batchSize);

    /** Model rows the batch takes. */
    int rows(B batch);

    /** Tokens per row of the batch. */
    int seqLen(B batch);

    /** The names of the further metrics of a step and of an evaluation, in the order they come. */
    List<String> metricNames();

    /** Leaves the gradient of the window's loss in the engine's gradients (replacing what was there). */
    Step accumulate(Engine engine, List<B> window);

    /** Scores every batch of the eval split. */
    Eval evaluate(Engine engine, Iterator<B> evalEpoch);
}

package org.jtune.train;

import org.jtune.cuda.Context;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.Batch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuLlamaModel;
import org.jtune.model.gpu.StepShape;

import java.lang.foreign.Arena;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * SFT steps on the GPU: {@link GpuLlamaModel} accumulates the window's gradient (mean over all its labelled tokens,
 * as {@link GradientAccumulation}), clips it and updates the adapters with AdamW on the device; the adapters come
 * back to the run's {@link LoraAdapters} for checkpoints and at the end.
 *
 * <p>Checkpoints save the device's AdamW moments and step count in the CPU optimizer's file format, through a host
 * copy of them, so a resume continues the run's bias correction and moments rather than restarting them.
 */
final class GpuSftEngine implements StepEngine<Batch> {
    private final Arena arena = Arena.ofShared();
    private final GpuLlamaModel model;
    private final LoraAdapters lora;
    private final AdamW.Settings adam;
    /**
     * The host copy of the device optimizer's state that checkpoints write and restore; it never steps. Taken once
     * here, so that a checkpoint allocates only its staging copy.
     */
    private final AdamW hostOptimizer;
    private final float maxGradNorm;

    private GpuSftEngine(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora, int maxRows,
                         int maxSeqLength, TrainingArguments args) {
        StepShape shape = new StepShape(maxRows, maxSeqLength, args.gradientAccumulationSteps());
        this.model = GpuLlamaModel.create(context, config, weights, lora.config(), shape,
                args.gradientCheckpointing() ? Checkpointing.ON : Checkpointing.OFF);
        try {
            model.loadAdapters(lora);
            this.hostOptimizer = new AdamW(AdapterFiles.tensors(lora), args.adamSettings(), arena);
        } catch (RuntimeException e) {
            model.close();
            arena.close();
            throw e;
        }
        this.lora = lora;
        this.adam = args.adamSettings();
        // GpuLlamaModel takes 0 for "no clipping", as max_grad_norm does.
        this.maxGradNorm = (float) args.maxGradNorm();
    }

    /** Opens GPU engines on {@code context}; their checkpoints resume within the GPU's rounding. */
    static Factory<Batch> factory(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora,
                                  int maxRows, int maxSeqLength, TrainingArguments args) {
        return new Factory<>() {
            @Override
            public StepEngine<Batch> open() {
                return new GpuSftEngine(context, config, weights, lora, maxRows, maxSeqLength, args);
            }

            @Override
            public String resumeRefusal() {
                return null;
            }
        };
    }

    /** SFT needs no pass over the data before training. */
    @Override
    public void prepare(Iterator<Batch> trainEpoch, Iterator<Batch> evalEpoch) {}

    @Override
    public Update step(List<Batch> window, double lr) {
        AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(lr, adam.beta1(), adam.beta2(), adam.eps(),
                adam.weightDecay());
        GpuLlamaModel.StepResult r = model.trainStep(window, hyper, maxGradNorm);
        long tokens = 0;
        for (Batch b : window) {
            tokens += b.tokenCount();
        }
        return new Update(new Objective.Step(r.loss(), tokens, Map.of()), r.gradNorm());
    }

    /**
     * Mean loss over all labelled tokens of the eval split. The GPU step has no forward-only pass: each batch runs
     * forward and backward without an update (the gradients are replaced by the next step's).
     */
    @Override
    public Objective.Eval evaluate(Iterator<Batch> evalEpoch) {
        double lossSum = 0;
        long tokens = 0;
        while (evalEpoch.hasNext()) {
            GpuLlamaModel.StepResult r = model.accumulate(List.of(evalEpoch.next()), 0f);
            lossSum += (double) r.loss() * r.labelledTokens();
            tokens += r.labelledTokens();
        }
        return new Objective.Eval(tokens == 0 ? Double.NaN : lossSum / tokens, tokens, Map.of());
    }

    @Override
    public void storeAdapters() {
        model.storeAdapters(lora);
    }

    @Override
    public Optional<AdamW> optimizer() {
        return Optional.of(hostOptimizer);
    }

    @Override
    public void storeOptimizer() {
        int steps = model.storeOptimizerState(hostOptimizer.firstMoments(), hostOptimizer.secondMoments());
        hostOptimizer.restoreStepCount(steps);
    }

    /** The restored adapters and moments to the device; loading the adapters resets the moments, so they go first. */
    @Override
    public void loadRestored() {
        long steps = hostOptimizer.stepCount();
        if (steps > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("optimizer step count " + steps + " exceeds what the GPU step counts");
        }
        model.loadAdapters(lora);
        model.loadOptimizerState(hostOptimizer.firstMoments(), hostOptimizer.secondMoments(), (int) steps);
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            arena.close();
        }
    }
}

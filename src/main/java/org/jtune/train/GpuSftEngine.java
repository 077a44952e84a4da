package org.jtune.train;

import org.jtune.cuda.Context;
import org.jtune.model.Batch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuLlamaModel;
import org.jtune.model.gpu.StepShape;
import org.jtune.ops.cuda.AdamWKernels;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * SFT steps on the GPU: {@link GpuLlamaModel} accumulates the window's gradient (mean over all its labelled tokens,
 * as {@link GradientAccumulation}), clips it and updates the adapters with AdamW on the device; the adapters come
 * back to the run's {@link LoraAdapters} for checkpoints and at the end.
 *
 * <p>The GPU step starts its optimizer from zero moments when adapters are loaded and cannot take saved ones, so a
 * GPU run's checkpoints hold no optimizer state and cannot be resumed: restarting the moments would not continue
 * the run as it was.
 */
final class GpuSftEngine implements StepEngine<Batch> {
    static final String RESUME_REFUSAL = "the GPU trainer cannot restore AdamW moments (its checkpoints save none);"
            + " train from the start, or start a new run from the checkpoint's adapter";

    private final GpuLlamaModel model;
    private final LoraAdapters lora;
    private final AdamW.Settings adam;
    private final float maxGradNorm;

    private GpuSftEngine(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora, int maxRows,
                         int maxSeqLength, TrainingArguments args) {
        StepShape shape = new StepShape(maxRows, maxSeqLength, args.gradientAccumulationSteps());
        this.model = GpuLlamaModel.create(context, config, weights, lora.config(), shape,
                args.gradientCheckpointing() ? Checkpointing.ON : Checkpointing.OFF);
        try {
            model.loadAdapters(lora);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.lora = lora;
        this.adam = args.adamSettings();
        // GpuLlamaModel takes 0 for "no clipping", as max_grad_norm does.
        this.maxGradNorm = (float) args.maxGradNorm();
    }

    /** Opens GPU engines on {@code context}. */
    static Factory<Batch> factory(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora,
                                  int maxRows, int maxSeqLength, TrainingArguments args) {
        return new Factory<>() {
            @Override
            public StepEngine<Batch> open() {
                return new GpuSftEngine(context, config, weights, lora, maxRows, maxSeqLength, args);
            }

            @Override
            public String resumeRefusal() {
                return RESUME_REFUSAL;
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
        return Optional.empty();
    }

    @Override
    public void close() {
        model.close();
    }
}

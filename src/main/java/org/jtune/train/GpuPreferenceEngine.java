package org.jtune.train;

import org.jtune.cuda.Context;
import org.jtune.data.PreferenceBatch;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuLlamaModel;
import org.jtune.model.gpu.StepShape;

import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * DPO steps on the GPU: {@link PreferenceObjective} computes the loss and row coefficients from the log-probabilities
 * {@link GpuLlamaModel} gives (the reference with its LoRA branches skipped, also when precomputed), the model
 * backpropagates them, clips the window's gradient and updates the adapters with AdamW on the device; the adapters
 * come back to the run's {@link LoraAdapters} for checkpoints and at the end.
 *
 * <p>As for SFT on the GPU ({@link GpuSftEngine}), the optimizer starts from zero moments and saves none, so a GPU
 * run's checkpoints cannot be resumed.
 */
final class GpuPreferenceEngine implements StepEngine<PreferenceBatch> {
    static final String RESUME_REFUSAL = "the GPU trainer cannot restore AdamW moments (its checkpoints save none);"
            + " train from the start, or start a new run from the checkpoint's adapter";

    private final GpuLlamaModel model;
    private final SequenceScorer scorer;
    private final PreferenceObjective objective;
    private final LoraAdapters lora;
    private final AdamW.Settings adam;
    private final float maxGradNorm;

    private GpuPreferenceEngine(Context context, ModelConfig config, LlamaWeights weights, LoraAdapters lora,
                                StepShape shape, Checkpointing checkpointing, TrainingArguments args,
                                PreferenceObjective objective) {
        this.model = GpuLlamaModel.create(context, config, weights, lora.config(), shape, checkpointing);
        try {
            model.loadAdapters(lora);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.scorer = SequenceScorer.of(model);
        this.objective = objective;
        this.lora = lora;
        this.adam = args.adamSettings();
        // GpuLlamaModel takes 0 for "no clipping", as max_grad_norm does.
        this.maxGradNorm = (float) args.maxGradNorm();
    }

    /** Opens GPU engines on {@code context} for steps of {@code shape} (its rows count both rows of each pair). */
    static Factory<PreferenceBatch> factory(Context context, ModelConfig config, LlamaWeights weights,
                                            LoraAdapters lora, StepShape shape, Checkpointing checkpointing,
                                            TrainingArguments args, PreferenceObjective objective) {
        return new Factory<>() {
            @Override
            public StepEngine<PreferenceBatch> open() {
                return new GpuPreferenceEngine(context, config, weights, lora, shape, checkpointing, args, objective);
            }

            @Override
            public String resumeRefusal() {
                return RESUME_REFUSAL;
            }
        };
    }

    /** Precomputes the reference log-probabilities on the GPU where the run asks for them. */
    @Override
    public void prepare(Iterator<PreferenceBatch> trainEpoch, Iterator<PreferenceBatch> evalEpoch) {
        objective.prepare(scorer, trainEpoch, evalEpoch);
    }

    @Override
    public Update step(List<PreferenceBatch> window, double lr) {
        model.zeroGradients();
        Objective.Step step = objective.accumulate(scorer, window);
        float gradNorm = model.gradientNorm(maxGradNorm);
        model.update(new AdamWKernels.Hyper(lr, adam.beta1(), adam.beta2(), adam.eps(), adam.weightDecay()),
                gradNorm);
        return new Update(step, gradNorm);
    }

    /** Forwards only: the reference and the policy of every eval batch, no backward. */
    @Override
    public Objective.Eval evaluate(Iterator<PreferenceBatch> evalEpoch) {
        return objective.evaluate(scorer, evalEpoch);
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

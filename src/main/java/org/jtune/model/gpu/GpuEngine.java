package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.Batch;
import org.jtune.model.Engine;
import org.jtune.model.EngineSpec;
import org.jtune.model.LoraAdapters;
import org.jtune.model.OptimizerSettings;
import org.jtune.model.OptimizerState;

import java.util.List;

/**
 * The training engine on one GPU: {@link GpuCausalLm} with bf16 activations, the adapters and AdamW on the
 * device. The adapters go to the device when the engine opens and come back on {@link #storeAdapters}; the
 * optimizer's moments come back on {@link #storeOptimizerState}, so runs resume (within the GPU's rounding: its
 * attention backward sums with atomics).
 */
public final class GpuEngine implements Engine {
    private final GpuCausalLm model;
    private final OptimizerSettings optimizer;
    /** GpuCausalLm takes 0 for "no clipping", as max_grad_norm does. */
    private final float maxGradNorm;
    /**
     * Whether the device holds the norm and clipping scale of the current gradients: {@link #accumulateMeanLoss}
     * computes them with the gradient, so the update that follows need not wait for the device again.
     */
    private boolean normReady;
    private float gradNorm;

    private GpuEngine(GpuCausalLm model, OptimizerSettings optimizer) {
        this.model = model;
        this.optimizer = optimizer;
        this.maxGradNorm = (float) optimizer.maxGradNorm();
    }

    /**
     * The memory the engine would take for {@code spec}, without a GPU.
     *
     * @throws IllegalArgumentException if the GPU step does not support the model or adapters
     */
    public static MemoryPlan plan(EngineSpec spec) {
        return GpuCausalLm.plan(spec.config(), BaseFormat.of(spec.weights()), spec.lora().config(), shape(spec),
                checkpointing(spec));
    }

    /**
     * Plans the engine's memory, takes it on the GPU of {@code context}, uploads the weights and the adapters.
     *
     * @throws IllegalArgumentException if the GPU step does not support the model or adapters
     * @throws IllegalStateException    if the plan does not fit the device's free memory
     */
    public static GpuEngine open(Context context, EngineSpec spec) {
        GpuCausalLm model = GpuCausalLm.create(context, spec.config(), spec.weights(), spec.lora().config(),
                shape(spec), checkpointing(spec));
        try {
            model.loadAdapters(spec.lora());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return new GpuEngine(model, spec.optimizer());
    }

    /** Opens engines on the GPU of {@code context}; {@code name} names it, e.g. "GPU 0, NVIDIA H200". */
    public static Engine.Factory factory(Context context, EngineSpec spec, String name) {
        return new Engine.Factory() {
            @Override
            public Engine open() {
                return GpuEngine.open(context, spec);
            }

            @Override
            public String placement() {
                return "the GPU (" + name + ")";
            }
        };
    }

    private static StepShape shape(EngineSpec spec) {
        return new StepShape(spec.maxRows(), spec.maxSeqLength(), spec.microBatches());
    }

    private static Checkpointing checkpointing(EngineSpec spec) {
        return spec.gradientCheckpointing() ? Checkpointing.ON : Checkpointing.OFF;
    }

    @Override
    public MeanLoss accumulateMeanLoss(List<Batch> microBatches) {
        GpuCausalLm.StepResult r = model.accumulate(microBatches, maxGradNorm);
        normReady = true;
        gradNorm = r.gradNorm();
        return new MeanLoss(r.loss(), r.labelledTokens());
    }

    /** The GPU step has no forward-only loss: the batch runs forward and backward, replacing the gradients. */
    @Override
    public MeanLoss meanLoss(Batch batch) {
        GpuCausalLm.StepResult r = model.accumulate(List.of(batch), 0f);
        normReady = false;
        return new MeanLoss(r.loss(), r.labelledTokens());
    }

    @Override
    public void zeroGradients() {
        normReady = false;
        model.zeroGradients();
    }

    @Override
    public double[] referenceLogProbs(Batch batch) {
        return model.referenceLogProbs(batch);
    }

    @Override
    public double[] policyLogProbs(Batch batch) {
        return model.forwardSequenceLogProbs(batch);
    }

    @Override
    public void backwardLogProbs(double[] rowCoefficients) {
        normReady = false;
        model.backward(rowCoefficients);
    }

    @Override
    public double optimizerStep(double learningRate) {
        float norm = normReady ? gradNorm : model.gradientNorm(maxGradNorm);
        normReady = false;
        model.update(new AdamWKernels.Hyper(learningRate, optimizer.beta1(), optimizer.beta2(), optimizer.eps(),
                optimizer.weightDecay()), norm);
        return norm;
    }

    @Override
    public void storeAdapters(LoraAdapters into) {
        model.storeAdapters(into);
    }

    @Override
    public void loadAdapters(LoraAdapters from) {
        normReady = false;
        model.loadAdapters(from);
    }

    @Override
    public void storeOptimizerState(OptimizerState into) {
        into.setSteps(model.storeOptimizerState(into.firstMoments(), into.secondMoments()));
    }

    @Override
    public void loadOptimizerState(OptimizerState from) {
        if (from.steps() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("optimizer step count " + from.steps()
                    + " exceeds what the GPU step counts");
        }
        model.loadOptimizerState(from.firstMoments(), from.secondMoments(), (int) from.steps());
    }

    @Override
    public String memoryReport() {
        return "GPU: " + model.memoryReport();
    }

    @Override
    public void close() {
        model.close();
    }
}

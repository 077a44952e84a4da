package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.DataParallelEngine;
import org.jtune.model.Engine;
import org.jtune.model.EngineSpec;
import org.jtune.model.LoraAdapters;
import org.jtune.model.OptimizerSettings;
import org.jtune.model.OptimizerState;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The training engine on the CPU: {@link CpuCausalLm} on {@link CpuOps} in fp32, {@link GradientAccumulation} over
 * micro-batches, {@link GradientClipping} and {@link AdamW}, all on the host. It trains the adapters it is opened
 * with in place, and its runs resume bit for bit. It can be one worker of a data-parallel run: its gradients are
 * host memory, which a communicator sums in place.
 */
public final class CpuEngine implements DataParallelEngine {
    private static final double MIB = 1024.0 * 1024;
    private final CountingArena arena = new CountingArena(Arena.ofShared());
    private final CpuCausalLm model;
    private final LoraAdapters lora;
    private final GradientAccumulation accumulation;
    private final AdamW adam;
    private final double maxGradNorm;

    /** Sizes the model's buffers for {@code spec}; the adapters of {@code spec} are trained in place. */
    public CpuEngine(EngineSpec spec) {
        this.lora = spec.lora();
        try {
            this.model = new CpuCausalLm(spec.config(), spec.weights(), lora, new CpuOps(), spec.maxRows(),
                    spec.maxSeqLength(), spec.gradientCheckpointing());
            this.accumulation = new GradientAccumulation(lora, arena);
            this.adam = new AdamW(lora.matrices(), spec.optimizer(), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        OptimizerSettings optimizer = spec.optimizer();
        this.maxGradNorm = optimizer.maxGradNorm() > 0 ? optimizer.maxGradNorm() : Double.POSITIVE_INFINITY;
    }

    /** Opens CPU engines for {@code spec}; {@code reason} says why training runs on the CPU. */
    public static Engine.Factory factory(EngineSpec spec, String reason) {
        String placement = "the CPU, " + Runtime.getRuntime().availableProcessors() + " cores (" + reason + ")";
        return new Engine.Factory() {
            @Override
            public Engine open() {
                return new CpuEngine(spec);
            }

            @Override
            public String placement() {
                return placement;
            }
        };
    }

    @Override
    public MeanLoss accumulateMeanLoss(List<Batch> microBatches) {
        GradientAccumulation.Window w = accumulation.accumulate(model, microBatches);
        return new MeanLoss(w.loss(), w.labelledTokens());
    }

    /** Forward only; a batch without labelled tokens is not run. */
    @Override
    public MeanLoss meanLoss(Batch batch) {
        long n = batch.labelledTokens();
        return n == 0 ? new MeanLoss(0, 0) : new MeanLoss(model.forward(batch), n);
    }

    @Override
    public void zeroGradients() {
        lora.zeroGradients();
    }

    @Override
    public double[] referenceLogProbs(Batch batch) {
        model.setAdaptersEnabled(false);
        try {
            return model.forwardSequenceLogProbs(batch);
        } finally {
            model.setAdaptersEnabled(true);
        }
    }

    @Override
    public double[] policyLogProbs(Batch batch) {
        return model.forwardSequenceLogProbs(batch);
    }

    @Override
    public void backwardLogProbs(double[] rowCoefficients) {
        model.backward(rowCoefficients);
    }

    @Override
    public double optimizerStep(double learningRate) {
        List<Tensor> gradients = lora.gradients();
        double norm = GradientClipping.clipByGlobalNorm(gradients, maxGradNorm);
        adam.step(gradients, learningRate);
        return norm;
    }

    /** The product is rounded once from double, so a weight of 1 (skipped) and others round alike. */
    @Override
    public void sumGradients(double weight, Consumer<List<MemorySegment>> sumOverWorkers) {
        List<Tensor> gradients = lora.gradients();
        if (weight != 1) {
            for (Tensor g : gradients) {
                for (long i = 0; i < g.size(); i++) {
                    g.set(i, (float) (g.get(i) * weight));
                }
            }
        }
        sumOverWorkers.accept(gradients.stream().map(Tensor::segment).toList());
    }

    @Override
    public void storeAdapters(LoraAdapters into) {
        if (into != lora) {
            into.copyFrom(lora);
        }
    }

    @Override
    public void loadAdapters(LoraAdapters from) {
        if (from != lora) {
            lora.copyFrom(from);
        }
        adam.reset();
    }

    @Override
    public void storeOptimizerState(OptimizerState into) {
        requireSameMatrices(into);
        for (int t = 0; t < into.names().size(); t++) {
            into.firstMoments().get(t).copyFrom(adam.firstMoments().get(t));
            into.secondMoments().get(t).copyFrom(adam.secondMoments().get(t));
        }
        into.setSteps(adam.stepCount());
    }

    @Override
    public void loadOptimizerState(OptimizerState from) {
        requireSameMatrices(from);
        for (int t = 0; t < from.names().size(); t++) {
            adam.firstMoments().get(t).copyFrom(from.firstMoments().get(t));
            adam.secondMoments().get(t).copyFrom(from.secondMoments().get(t));
        }
        adam.restoreStepCount(from.steps());
    }

    private void requireSameMatrices(OptimizerState state) {
        if (!state.names().equals(lora.names())) {
            throw new IllegalArgumentException("optimizer state of " + state.names().size() + " matrices does not"
                    + " belong to these adapters of " + lora.names().size());
        }
    }

    /** The host memory the engine holds (the weights are the caller's). */
    @Override
    public String memoryReport() {
        return String.format(Locale.ROOT, "host: activations %.2f MiB, gradient sums and AdamW moments %.2f MiB",
                model.bufferBytes() / MIB, arena.allocatedBytes() / MIB);
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

package org.jtune.train;

import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.cpu.LlamaModel;
import org.jtune.model.cpu.Ops;

import java.lang.foreign.Arena;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/** Steps on the CPU engine: {@link LlamaModel} trains the adapters in place, {@link AdamW} updates them. */
final class CpuStepEngine<B> implements StepEngine<B> {
    private final Arena arena = Arena.ofShared();
    private final LlamaModel model;
    private final Objective<B> objective;
    private final AdamW adam;
    private final double maxGradNorm;

    private CpuStepEngine(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxRows,
                          int maxSeqLength, TrainingArguments args, Objective<B> objective) {
        try {
            this.model = new LlamaModel(config, weights, lora, ops, maxRows, maxSeqLength,
                    args.gradientCheckpointing());
            this.adam = new AdamW(AdapterFiles.tensors(lora), args.adamSettings(), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.objective = objective;
        this.maxGradNorm = args.maxGradNorm() > 0 ? args.maxGradNorm() : Double.POSITIVE_INFINITY;
    }

    /** Opens CPU engines; their checkpoints resume bit for bit. */
    static <B> Factory<B> factory(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxRows,
                                  int maxSeqLength, TrainingArguments args, Objective<B> objective) {
        return new Factory<>() {
            @Override
            public StepEngine<B> open() {
                return new CpuStepEngine<>(config, weights, lora, ops, maxRows, maxSeqLength, args, objective);
            }

            @Override
            public String resumeRefusal() {
                return null;
            }
        };
    }

    @Override
    public void prepare(Iterator<B> trainEpoch, Iterator<B> evalEpoch) {
        objective.prepare(model, trainEpoch, evalEpoch);
    }

    @Override
    public Update step(List<B> window, double lr) {
        Objective.Step step = objective.step(model, window);
        double gradNorm = GradientClipping.clipByGlobalNorm(objective.gradients(), maxGradNorm);
        adam.step(objective.gradients(), lr);
        return new Update(step, gradNorm);
    }

    @Override
    public Objective.Eval evaluate(Iterator<B> evalEpoch) {
        return objective.evaluate(model, evalEpoch);
    }

    /** Nothing to copy: the model trains the run's adapters in place. */
    @Override
    public void storeAdapters() {}

    @Override
    public Optional<AdamW> optimizer() {
        return Optional.of(adam);
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

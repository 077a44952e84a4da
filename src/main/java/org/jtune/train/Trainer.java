package org.jtune.train;

import org.jtune.model.Batch;
import org.jtune.model.LlamaModel;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.ops.Ops;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Supervised fine-tuning of the LoRA adapters of a model: micro-batches from a {@link BatchSource}, gradient
 * accumulation over all labelled tokens of a step ({@link GradientAccumulation}), clipping, AdamW with a
 * transformers learning-rate schedule, periodic evaluation, logging (console, {@code metrics.jsonl}, a loss-curve
 * PNG at the end) and atomic checkpoints that {@link #resume} continues bit for bit on the CPU.
 */
public final class Trainer {
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final LoraAdapters lora;
    private final Ops ops;
    private final int maxSeqLength;
    private final TrainingArguments args;
    private final BatchSource train;
    private final BatchSource eval;
    private final List<TrainingListener> listeners = new ArrayList<>();

    /**
     * @param lora         the adapters to train, in place (initialised, or loaded from an adapter to continue)
     * @param maxSeqLength the longest row a batch may have
     * @param eval         the eval split, or null
     */
    public Trainer(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxSeqLength,
                   TrainingArguments args, BatchSource train, BatchSource eval) {
        if (maxSeqLength <= 0) {
            throw new IllegalArgumentException("max sequence length must be positive, got " + maxSeqLength);
        }
        this.config = config;
        this.weights = weights;
        this.lora = lora;
        this.ops = ops;
        this.maxSeqLength = maxSeqLength;
        this.args = args;
        this.train = train;
        this.eval = eval;
    }

    /** Adds a listener that sees every step, log line and evaluation. */
    public Trainer addListener(TrainingListener listener) {
        listeners.add(listener);
        return this;
    }

    /**
     * Optimizer steps of the run: {@code maxSteps} if positive, else epochs × ceil(batches per epoch / accumulation)
     * (the last step of an epoch takes the micro-batches left, as in transformers).
     */
    public long totalSteps() {
        if (args.maxSteps() > 0) {
            return args.maxSteps();
        }
        long batches = train.batchesPerEpoch();
        if (batches < 0) {
            throw new IllegalArgumentException("the training source does not know its length: set max_steps");
        }
        long perEpoch = Math.max(1, (batches + args.gradientAccumulationSteps() - 1) / args.gradientAccumulationSteps());
        return perEpoch * args.numTrainEpochs();
    }

    /** Trains from the start. */
    public TrainResult train() throws IOException {
        return run(null);
    }

    /** Continues the run saved in {@code checkpoint} (a {@code checkpoint-<step>} folder). */
    public TrainResult resume(Path checkpoint) throws IOException {
        TrainingArguments saved = TrainingCheckpoint.readArguments(checkpoint);
        if (!saved.sameStepMath(args)) {
            throw new IllegalArgumentException(checkpoint + " was trained with " + saved + "; resuming needs the same"
                    + " batch size, accumulation, optimizer, schedule and seed, but got " + args);
        }
        return run(checkpoint);
    }

    /** Continues from the latest complete checkpoint in the output folder. */
    public TrainResult resumeLatest() throws IOException {
        Path outputDir = requireOutputDir();
        Path latest = TrainingCheckpoint.latest(outputDir).orElseThrow(() -> new IllegalStateException(
                "no complete checkpoint-<step> folder in " + outputDir + " to resume from"));
        return resume(latest);
    }

    private Path requireOutputDir() {
        if (args.outputDir() == null) {
            throw new IllegalStateException("checkpoints need an output_dir");
        }
        return args.outputDir();
    }

    /** Where the run is; saved in checkpoints. */
    private static final class Position {
        long step;
        int epoch;
        long batchesInEpoch;
        double logLossSum;
        long logSteps;
        long logTokens;
    }

    private TrainResult run(Path checkpoint) throws IOException {
        long total = totalSteps();
        long warmup = LrSchedule.warmupSteps(args.warmupSteps(), args.warmupRatio(), total);
        List<TrainingListener> all = new ArrayList<>();
        MetricsFile metrics = null;
        try (Arena arena = Arena.ofShared();
             LlamaModel model = new LlamaModel(config, weights, lora, ops, args.perDeviceTrainBatchSize(),
                     maxSeqLength, args.gradientCheckpointing())) {
            AdamW adam = new AdamW(AdapterFiles.tensors(lora), args.adamSettings(), arena);
            GradientAccumulation accumulation = new GradientAccumulation(lora, arena);
            Position at = new Position();
            if (checkpoint == null) {
                train.startEpoch(0, args.seed());
            } else {
                TrainingCheckpoint.State s = TrainingCheckpoint.restore(checkpoint, config, lora, adam);
                train.restore(s.dataState());
                at.step = s.globalStep();
                at.epoch = s.epoch();
                at.batchesInEpoch = s.batchesInEpoch();
                at.logLossSum = s.logLossSum();
                at.logSteps = s.logSteps();
                at.logTokens = s.logTokens();
            }
            if (args.outputDir() != null) {
                Path file = args.outputDir().resolve(MetricsFile.FILE_NAME);
                metrics = checkpoint == null ? MetricsFile.create(file) : MetricsFile.resume(file, at.step);
                all.add(metrics);
            }
            if (args.progressBar()) {
                all.add(ProgressBar.onStandardOutput());
            }
            all.addAll(listeners);

            long evalEvery = args.evalSteps() > 0 ? args.evalSteps() : args.loggingSteps();
            long startStep = at.step, start = System.nanoTime(), logStart = start, runTokens = 0;
            double runLossSum = 0, lastEval = Double.NaN;
            Path lastCheckpoint = null;
            while (at.step < total) {
                GradientAccumulation.Window w = accumulation.accumulate(model, window(at));
                double gradNorm = GradientClipping.clipByGlobalNorm(accumulation.gradients(),
                        args.maxGradNorm() > 0 ? args.maxGradNorm() : Double.POSITIVE_INFINITY);
                double lr = args.learningRate() * args.lrSchedulerType().multiplier(at.step, warmup, total);
                adam.step(accumulation.gradients(), lr);
                at.step++;
                at.logLossSum += w.loss();
                at.logSteps++;
                at.logTokens += w.tokens();
                runLossSum += w.loss();
                runTokens += w.tokens();

                long now = System.nanoTime();
                double elapsed = (now - start) / 1e9;
                double eta = elapsed / (at.step - startStep) * (total - at.step);
                for (TrainingListener l : all) {
                    l.onStep(new TrainingListener.StepProgress(at.step, total, w.loss(), lr, runTokens / elapsed, eta));
                }
                if (at.step % args.loggingSteps() == 0 || at.step == total) {
                    double seconds = (now - logStart) / 1e9;
                    TrainingListener.TrainLog log = new TrainingListener.TrainLog(at.step, epochProgress(at),
                            at.logLossSum / at.logSteps, lr, gradNorm, at.logTokens, at.logTokens / seconds);
                    all.forEach(l -> l.onLog(log));
                    at.logLossSum = 0;
                    at.logSteps = 0;
                    at.logTokens = 0;
                    logStart = System.nanoTime();
                }
                if (eval != null && at.step % evalEvery == 0) {
                    TrainingListener.EvalLog log = evaluate(model, at);
                    lastEval = log.loss();
                    all.forEach(l -> l.onEval(log));
                }
                if (args.outputDir() != null && args.saveSteps() > 0
                        && (at.step % args.saveSteps() == 0 || at.step == total)) {
                    lastCheckpoint = save(adam, at);
                }
            }
            all.forEach(TrainingListener::onEnd);
            if (metrics != null) {
                LossCurvePlot.write(args.outputDir().resolve(LossCurvePlot.FILE_NAME), metrics);
            }
            long ran = at.step - startStep;
            return new TrainResult(at.step, ran == 0 ? Double.NaN : runLossSum / ran, lastEval, lastCheckpoint);
        }
    }

    private Path save(AdamW adam, Position at) throws IOException {
        return TrainingCheckpoint.write(requireOutputDir(), args, config, lora, adam, at.step,
                () -> new TrainingCheckpoint.State(at.step, at.epoch, at.batchesInEpoch, train.state(), args.seed(),
                        at.logLossSum, at.logSteps, at.logTokens));
    }

    /**
     * The micro-batches of the next step: up to {@code gradientAccumulationSteps}, fewer at the end of an epoch;
     * an exhausted epoch starts the next one.
     */
    private List<Batch> window(Position at) {
        List<Batch> window = new ArrayList<>();
        while (window.size() < args.gradientAccumulationSteps()) {
            Batch b = train.next();
            if (b == null) {
                if (!window.isEmpty()) {
                    break;
                }
                at.epoch++;
                at.batchesInEpoch = 0;
                train.startEpoch(at.epoch, args.seed());
                b = train.next();
                if (b == null) {
                    throw new IllegalStateException("the training source gave no batch in epoch " + at.epoch);
                }
            }
            checkShape(b, "training");
            window.add(b);
            at.batchesInEpoch++;
        }
        return window;
    }

    private void checkShape(Batch b, String split) {
        if (b.batchSize() > args.perDeviceTrainBatchSize() || b.seqLen() > maxSeqLength) {
            throw new IllegalArgumentException("a " + split + " batch has " + b.batchSize() + " rows of " + b.seqLen()
                    + " tokens; at most " + args.perDeviceTrainBatchSize() + " rows (per_device_train_batch_size) of "
                    + maxSeqLength + " tokens (max sequence length) fit");
        }
    }

    private double epochProgress(Position at) {
        long perEpoch = train.batchesPerEpoch();
        return perEpoch > 0 ? at.epoch + (double) at.batchesInEpoch / perEpoch : at.epoch;
    }

    /** Mean loss over all labelled tokens of the whole eval source. */
    private TrainingListener.EvalLog evaluate(LlamaModel model, Position at) {
        eval.startEpoch(0, args.seed());
        double lossSum = 0;
        long tokens = 0;
        for (Batch b = eval.next(); b != null; b = eval.next()) {
            checkShape(b, "eval");
            long n = LabelledTokens.count(b);
            if (n > 0) {
                lossSum += (double) model.forward(b) * n;
                tokens += n;
            }
        }
        return new TrainingListener.EvalLog(at.step, epochProgress(at), tokens == 0 ? Double.NaN : lossSum / tokens,
                tokens);
    }
}

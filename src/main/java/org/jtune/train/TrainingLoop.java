package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.model.BaseModelIdentity;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.cpu.Ops;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The optimizer loop shared by SFT and DPO: windows of micro-batches from a {@link BatchSource}, the objective's
 * gradient, clipping, AdamW with a transformers learning-rate schedule, periodic evaluation, logging (console,
 * {@code metrics.jsonl}, a loss-curve PNG at the end) and atomic checkpoints that {@link #resume} continues bit for
 * bit on the CPU (on the GPU within its rounding: its attention backward sums with atomics). The steps themselves
 * run on a {@link StepEngine}: the CPU engine, or the GPU step.
 *
 * @param <B> the micro-batch type of the objective
 */
final class TrainingLoop<B> {
    private final ModelConfig config;
    private LlamaWeights baseWeights;
    private BaseModelIdentity baseIdentity;
    private final LoraAdapters lora;
    private final int maxRows;
    private final int maxSeqLength;
    private final TrainingArguments args;
    private final BatchSource<B> train;
    private final BatchSource<B> eval;
    private final Objective<B> objective;
    private final StepEngine.Factory<B> engines;
    private final List<TrainingListener> listeners = new ArrayList<>();

    /**
     * @param maxRows      the most model rows a micro-batch takes
     * @param maxSeqLength the longest row a batch may have
     * @param eval         the eval split, or null
     */
    TrainingLoop(ModelConfig config, LlamaWeights weights, LoraAdapters lora, Ops ops, int maxRows, int maxSeqLength,
                 TrainingArguments args, BatchSource<B> train, BatchSource<B> eval, Objective<B> objective) {
        this(config, lora, maxRows, maxSeqLength, args, train, eval, objective,
                CpuStepEngine.factory(config, weights, lora, ops, maxRows, maxSeqLength, args, objective));
        recordingBase(weights);
    }

    /** Checkpoints record the identity of these base weights, and resuming checks it. */
    TrainingLoop<B> recordingBase(LlamaWeights weights) {
        this.baseWeights = weights;
        return this;
    }

    private BaseModelIdentity baseIdentity() {
        if (baseIdentity == null && baseWeights != null) {
            baseIdentity = BaseModelIdentity.of(config, baseWeights);
        }
        return baseIdentity;
    }

    /**
     * A loop whose steps run on {@code engines}' engines; {@code objective} still gives the batch shapes and the
     * settings checkpoints record.
     */
    TrainingLoop(ModelConfig config, LoraAdapters lora, int maxRows, int maxSeqLength, TrainingArguments args,
                 BatchSource<B> train, BatchSource<B> eval, Objective<B> objective, StepEngine.Factory<B> engines) {
        if (maxSeqLength <= 0) {
            throw new IllegalArgumentException("max sequence length must be positive, got " + maxSeqLength);
        }
        this.config = config;
        this.lora = lora;
        this.maxRows = maxRows;
        this.maxSeqLength = maxSeqLength;
        this.args = args;
        this.train = train;
        this.eval = eval;
        this.objective = objective;
        this.engines = engines;
    }

    void addListener(TrainingListener listener) {
        listeners.add(listener);
    }

    /**
     * Optimizer steps of the run: {@code maxSteps} if positive, else epochs × ceil(batches per epoch / accumulation)
     * (the last step of an epoch takes the micro-batches left, as in transformers).
     */
    long totalSteps() {
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

    TrainResult train() throws IOException {
        return run(null);
    }

    TrainResult resume(Path checkpoint) throws IOException {
        if (engines.resumeRefusal() != null) {
            throw new UnsupportedOperationException("cannot resume " + checkpoint + ": " + engines.resumeRefusal());
        }
        TrainingArguments saved = TrainingCheckpoint.readArguments(checkpoint);
        if (!saved.sameStepMath(args)) {
            throw new IllegalArgumentException(checkpoint + " was trained with " + saved + "; resuming needs the same"
                    + " batch size, accumulation, optimizer, schedule and seed, but got " + args);
        }
        TrainingCheckpoint.requireSameBase(checkpoint, baseIdentity());
        JsonNode savedObjective = TrainingCheckpoint.readObjective(checkpoint);
        if (!savedObjective.equals(objective.settings())) {
            throw new IllegalArgumentException(checkpoint + " was trained with " + savedObjective + "; resuming needs"
                    + " the same objective, but got " + objective.settings());
        }
        return run(checkpoint);
    }

    TrainResult resumeLatest() throws IOException {
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
        Map<String, Double> logMetricSums = new LinkedHashMap<>();
    }

    private TrainResult run(Path checkpoint) throws IOException {
        long total = totalSteps();
        long warmup = LrSchedule.warmupSteps(args.warmupSteps(), args.warmupRatio(), total);
        List<TrainingListener> all = new ArrayList<>();
        MetricsFile metrics = null;
        if (args.outputDir() != null) {
            TrainingCheckpoint.deleteLeftovers(args.outputDir());
        }
        try (StepEngine<B> engine = engines.open()) {
            engine.prepare(oneEpoch(train, "training"), eval == null ? null : oneEpoch(eval, "eval"));
            Position at = new Position();
            if (checkpoint == null) {
                train.startEpoch(0, args.seed());
            } else {
                TrainingCheckpoint.State s = TrainingCheckpoint.restore(checkpoint, config, lora,
                        engine.optimizer().orElseThrow());
                engine.loadRestored();
                train.restore(s.dataState());
                at.step = s.globalStep();
                at.epoch = s.epoch();
                at.batchesInEpoch = s.batchesInEpoch();
                at.logLossSum = s.logLossSum();
                at.logSteps = s.logSteps();
                at.logTokens = s.logTokens();
                at.logMetricSums.putAll(s.logMetricSums());
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
                double lr = args.learningRate() * args.lrSchedulerType().multiplier(at.step, warmup, total);
                StepEngine.Update update = engine.step(window(at), lr);
                Objective.Step w = update.step();
                double gradNorm = update.gradNorm();
                at.step++;
                at.logLossSum += w.loss();
                at.logSteps++;
                at.logTokens += w.tokens();
                w.metrics().forEach((name, value) -> at.logMetricSums.merge(name, value, Double::sum));
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
                    Map<String, Double> means = new LinkedHashMap<>();
                    long steps = at.logSteps;
                    at.logMetricSums.forEach((name, sum) -> means.put(name, sum / steps));
                    TrainingListener.TrainLog log = new TrainingListener.TrainLog(at.step, epochProgress(at),
                            at.logLossSum / at.logSteps, lr, gradNorm, at.logTokens, at.logTokens / seconds, means);
                    all.forEach(l -> l.onLog(log));
                    at.logLossSum = 0;
                    at.logSteps = 0;
                    at.logTokens = 0;
                    at.logMetricSums.clear();
                    logStart = System.nanoTime();
                }
                if (eval != null && at.step % evalEvery == 0) {
                    Objective.Eval e = engine.evaluate(oneEpoch(eval, "eval"));
                    TrainingListener.EvalLog log = new TrainingListener.EvalLog(at.step, epochProgress(at), e.loss(),
                            e.labelledTokens(), e.metrics());
                    lastEval = log.loss();
                    all.forEach(l -> l.onEval(log));
                }
                if (args.outputDir() != null && args.saveSteps() > 0
                        && (at.step % args.saveSteps() == 0 || at.step == total)) {
                    lastCheckpoint = save(engine, at);
                }
            }
            engine.storeAdapters();
            all.forEach(TrainingListener::onEnd);
            if (metrics != null) {
                LossCurvePlot.write(args.outputDir().resolve(LossCurvePlot.FILE_NAME), metrics);
            }
            long ran = at.step - startStep;
            return new TrainResult(at.step, ran == 0 ? Double.NaN : runLossSum / ran, lastEval, lastCheckpoint);
        }
    }

    private Path save(StepEngine<B> engine, Position at) throws IOException {
        engine.storeAdapters();
        engine.storeOptimizer();
        return TrainingCheckpoint.write(requireOutputDir(), args, objective.settings(), config, lora,
                engine.optimizer().orElse(null), baseIdentity(), at.step,
                () -> new TrainingCheckpoint.State(at.step, at.epoch, at.batchesInEpoch, train.state(), args.seed(),
                        at.logLossSum, at.logSteps, at.logTokens, Map.copyOf(at.logMetricSums)));
    }

    /**
     * The micro-batches of the next step: up to {@code gradientAccumulationSteps}, fewer at the end of an epoch;
     * an exhausted epoch starts the next one.
     */
    private List<B> window(Position at) {
        List<B> window = new ArrayList<>();
        while (window.size() < args.gradientAccumulationSteps()) {
            B b = train.next();
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

    /**
     * Epoch 0 of {@code source} from its start, every batch shape-checked; the source is touched only once the
     * iterator is used (an objective that needs no pass over the data leaves the source as it was).
     */
    private Iterator<B> oneEpoch(BatchSource<B> source, String split) {
        return new Iterator<>() {
            private boolean started;
            private B next;

            @Override
            public boolean hasNext() {
                if (!started) {
                    started = true;
                    source.startEpoch(0, args.seed());
                    next = source.next();
                }
                return next != null;
            }

            @Override
            public B next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                B b = next;
                checkShape(b, split);
                next = source.next();
                return b;
            }
        };
    }

    private void checkShape(B b, String split) {
        int rows = objective.rows(b), len = objective.seqLen(b);
        if (rows > maxRows || len > maxSeqLength) {
            throw new IllegalArgumentException("a " + split + " batch has " + rows + " rows of " + len
                    + " tokens; at most " + maxRows + " rows (from per_device_train_batch_size) of "
                    + maxSeqLength + " tokens (max sequence length) fit");
        }
    }

    private double epochProgress(Position at) {
        long perEpoch = train.batchesPerEpoch();
        return perEpoch > 0 ? at.epoch + (double) at.batchesInEpoch / perEpoch : at.epoch;
    }
}

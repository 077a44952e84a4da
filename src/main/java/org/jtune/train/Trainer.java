package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.data.PreferenceBatch;
import org.jtune.model.Batch;
import org.jtune.model.Engine;
import org.jtune.model.EngineSpec;
import org.jtune.model.BaseModelIdentity;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.OptimizerState;
import org.jtune.parallel.Communicator;
import org.jtune.parallel.SingleCommunicator;
import org.jtune.train.report.LossCurvePlot;
import org.jtune.train.report.MetricsFile;
import org.jtune.train.report.ProgressBar;
import org.jtune.train.report.TrainingListener;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Fine-tuning of the LoRA adapters of a model, with supervised fine-tuning ({@link #sft}) or DPO ({@link #dpo}) as
 * the objective: windows of micro-batches from a {@link BatchSource}, the objective's gradient, clipping, AdamW with
 * a transformers learning-rate schedule, periodic evaluation, logging (listeners, {@code metrics.jsonl}, a
 * loss-curve PNG at the end) and atomic checkpoints that {@link #resume} continues. The steps run on an
 * {@link Engine} wherever the given placement puts it; on the CPU a resume continues bit for bit, on the GPU within
 * its rounding (its attention backward sums with atomics).
 *
 * <p>With a {@link #dataParallel communicator} of several workers, each worker (its own trainer, engine and batch
 * source over the same data) runs its share of every step's micro-batches; the step's gradient is summed over them
 * and every worker applies the same update. The run is that of one worker with the same global batch
 * ({@code per_device_train_batch_size × gradient_accumulation_steps × workers}): the same data order, losses and
 * adapters, within the rounding of the sum's order. Worker 0 writes the metrics, checkpoints and the plot.
 *
 * @param <B> the micro-batch type of the objective
 */
public final class Trainer<B> {
    private final ModelConfig config;
    private final LoraAdapters lora;
    private final int maxRows;
    private final int maxSeqLength;
    private final TrainingArguments args;
    private final BatchSource<B> train;
    private final BatchSource<B> eval;
    private final Objective<B> objective;
    private final Engine.Factory engines;
    /** The base weights whose identity checkpoints record and resuming checks; computed when first needed. */
    private final ModelWeights baseWeights;
    private BaseModelIdentity baseIdentity;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private WorkerShare share = new WorkerShare(SingleCommunicator.INSTANCE);

    private Trainer(Engine.Placement placement, ModelConfig config, ModelWeights weights, LoraAdapters lora,
                    int maxSeqLength, TrainingArguments args, BatchSource<B> train, BatchSource<B> eval,
                    Objective<B> objective) {
        if (maxSeqLength <= 0) {
            throw new IllegalArgumentException("max sequence length must be positive, got " + maxSeqLength);
        }
        this.config = config;
        this.lora = lora;
        this.maxRows = objective.maxRows(args.perDeviceTrainBatchSize());
        this.maxSeqLength = maxSeqLength;
        this.args = args;
        this.train = train;
        this.eval = eval;
        this.objective = objective;
        this.baseWeights = weights;
        this.engines = placement.trainingEngines(new EngineSpec(config, weights, lora, maxRows, maxSeqLength,
                args.gradientAccumulationSteps(), args.gradientCheckpointing(), args.optimizerSettings()));
    }

    /**
     * Supervised fine-tuning: the mean cross-entropy over all labelled tokens of a step's micro-batches.
     *
     * @param lora         the adapters to train (initialised, or loaded from an adapter to continue); they hold the
     *                     trained values at every checkpoint and at the end
     * @param maxSeqLength the longest row a batch may have
     * @param eval         the eval split, or null
     */
    public static Trainer<Batch> sft(Engine.Placement placement, ModelConfig config, ModelWeights weights,
                                     LoraAdapters lora, int maxSeqLength, TrainingArguments args,
                                     BatchSource<Batch> train, BatchSource<Batch> eval) {
        return new Trainer<>(placement, config, weights, lora, maxSeqLength, args, train, eval, new SftObjective());
    }

    /**
     * DPO ({@link DpoObjective}): the reference is the same base with the adapters switched off; the log
     * lines carry {@code rewards/...} and {@code logps/...} beside the loss. {@code per_device_train_batch_size}
     * counts pairs, each taking two rows.
     *
     * @param maxSeqLength the longest prompt + completion row a batch may have
     */
    public static Trainer<PreferenceBatch> dpo(Engine.Placement placement, ModelConfig config, ModelWeights weights,
                                               LoraAdapters lora, int maxSeqLength, TrainingArguments args,
                                               DpoArguments dpo, BatchSource<PreferenceBatch> train,
                                               BatchSource<PreferenceBatch> eval) {
        return new Trainer<>(placement, config, weights, lora, maxSeqLength, args, train, eval,
                new DpoObjective(dpo));
    }

    /** Where the steps run and why there, e.g. "the GPU (GPU 0, NVIDIA H200)". */
    public String placement() {
        return engines.placement();
    }

    /**
     * Makes this trainer one worker of a data-parallel run over {@code communicator}'s workers, each of which calls
     * {@link #train} (or the same resume) on its own trainer built alike. Without this call the trainer is the only
     * worker. A failure on one worker ends the run on all of them with its error.
     */
    public Trainer<B> dataParallel(Communicator communicator) {
        this.share = new WorkerShare(communicator);
        return this;
    }

    /** Adds a listener that sees every step, log line and evaluation (on this worker; the run's values). */
    public Trainer<B> addListener(TrainingListener listener) {
        listeners.add(listener);
        return this;
    }

    /**
     * Optimizer steps of the run: {@code maxSteps} if positive, else epochs × ceil(batches per epoch / (accumulation ×
     * workers)) (the last step of an epoch takes the micro-batches left, as in transformers).
     */
    public long totalSteps() {
        if (args.maxSteps() > 0) {
            return args.maxSteps();
        }
        long batches = train.batchesPerEpoch();
        if (batches < 0) {
            throw new IllegalArgumentException("the training source does not know its length: set max_steps");
        }
        long window = (long) args.gradientAccumulationSteps() * share.size();
        long perEpoch = Math.max(1, (batches + window - 1) / window);
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
            throw new IllegalArgumentException(checkpoint + " cannot be resumed with other settings for the steps "
                    + "(batch size, accumulation, optimizer, schedule, seed); changed since it was saved:\n  "
                    + String.join("\n  ", saved.stepMathChanges(args))
                    + "\nresume with the saved values, or start a new run in another output folder");
        }
        TrainingCheckpoint.requireSameBase(checkpoint, baseIdentity());
        JsonNode savedObjective = TrainingCheckpoint.readObjective(checkpoint);
        if (!savedObjective.equals(objective.settings())) {
            throw new IllegalArgumentException(checkpoint + " was trained with " + savedObjective + "; resuming needs"
                    + " the same objective, but got " + objective.settings());
        }
        return run(checkpoint);
    }

    private BaseModelIdentity baseIdentity() {
        if (baseIdentity == null) {
            baseIdentity = BaseModelIdentity.of(config, baseWeights);
        }
        return baseIdentity;
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

    private TrainResult run(Path checkpoint) throws IOException {
        try {
            return runOrFail(checkpoint);
        } catch (IOException | RuntimeException | Error e) {
            share.fail(e);
            throw e;
        }
    }

    private TrainResult runOrFail(Path checkpoint) throws IOException {
        try (Engine engine = engines.open(); Arena arena = Arena.ofShared()) {
            share.requireCapable(engine, engines.placement());
            Run run = new Run(engine, new OptimizerState(lora, arena));
            run.start(checkpoint);
            while (run.at.step < run.total) {
                run.step();
                if (run.at.step % args.loggingSteps() == 0 || run.at.step == run.total) {
                    run.log();
                }
                if (eval != null && run.at.step % run.evalEvery == 0) {
                    run.evaluate();
                }
                if (args.outputDir() != null && args.saveSteps() > 0
                        && (run.at.step % args.saveSteps() == 0 || run.at.step == run.total)) {
                    run.save();
                }
            }
            return run.finish();
        }
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

    /** One run (from the start, or resumed) on one engine, step by step. */
    private final class Run {
        final Engine engine;
        final OptimizerState optimizer;
        final Position at = new Position();
        final List<TrainingListener> all = new ArrayList<>();
        final long total = totalSteps();
        final long warmup = LrSchedule.warmupSteps(args.warmupSteps(), args.warmupRatio(), total);
        final long evalEvery = args.evalSteps() > 0 ? args.evalSteps() : args.loggingSteps();
        MetricsFile metrics;
        long startStep, start, logStart, runTokens;
        double runLossSum, lastEval = Double.NaN, lr, gradNorm;
        Path lastCheckpoint;

        Run(Engine engine, OptimizerState optimizer) {
            this.engine = engine;
            this.optimizer = optimizer;
        }

        /** Prepares the objective, restores the checkpoint if there is one, and opens the listeners. */
        void start(Path checkpoint) throws IOException {
            if (args.outputDir() != null && share.writesFiles()) {
                TrainingCheckpoint.deleteLeftovers(args.outputDir());
            }
            objective.prepare(engine, oneEpoch(train, "training"), eval == null ? null : oneEpoch(eval, "eval"));
            if (checkpoint == null) {
                train.startEpoch(0, args.seed());
                if (!share.single()) {
                    share.startAlike(lora, optimizer);
                    engine.loadAdapters(lora);
                }
            } else {
                TrainingCheckpoint.State s = TrainingCheckpoint.restore(checkpoint, config, lora, optimizer);
                if (s.workers() != share.size()) {
                    throw new IllegalArgumentException(checkpoint + " was trained by " + s.workers() + " worker(s),"
                            + " each taking its share of every step's micro-batches; resume it with "
                            + s.workers() + ", not " + share.size());
                }
                share.startAlike(lora, optimizer);
                // loading the adapters starts a fresh optimizer, so the restored state goes second
                engine.loadAdapters(lora);
                engine.loadOptimizerState(optimizer);
                train.restore(s.dataState());
                at.step = s.globalStep();
                at.epoch = s.epoch();
                at.batchesInEpoch = s.batchesInEpoch();
                at.logLossSum = s.logLossSum();
                at.logSteps = s.logSteps();
                at.logTokens = s.logTokens();
                at.logMetricSums.putAll(s.logMetricSums());
            }
            if (args.outputDir() != null && share.writesFiles()) {
                Path file = args.outputDir().resolve(MetricsFile.FILE_NAME);
                metrics = checkpoint == null ? MetricsFile.create(file) : MetricsFile.resume(file, at.step);
                all.add(metrics);
            }
            if (args.progressBar() && share.writesFiles()) {
                all.add(ProgressBar.onStandardOutput());
            }
            all.addAll(listeners);
            String memory = engine.memoryReport();
            all.forEach(l -> l.onStart(memory));
            startStep = at.step;
            start = System.nanoTime();
            logStart = start;
        }

        /** One optimizer step on the next window of micro-batches. */
        void step() {
            lr = args.learningRate() * args.lrSchedulerType().multiplier(at.step, warmup, total);
            List<B> mine = share.of(window(at));
            Objective.Step w = share.step(engine, mine.isEmpty() ? nothing() : objective.accumulate(engine, mine),
                    objective.metricNames());
            gradNorm = engine.optimizerStep(lr);
            at.step++;
            at.logLossSum += w.loss();
            at.logSteps++;
            at.logTokens += w.tokens();
            w.metrics().forEach((name, value) -> at.logMetricSums.merge(name, value, Double::sum));
            runLossSum += w.loss();
            runTokens += w.tokens();

            double elapsed = (System.nanoTime() - start) / 1e9;
            double eta = elapsed / (at.step - startStep) * (total - at.step);
            for (TrainingListener l : all) {
                l.onStep(new TrainingListener.StepProgress(at.step, total, w.loss(), lr, runTokens / elapsed, eta));
            }
        }

        /** The step of a worker whose share of an epoch's short last window is empty: zero gradients, weight 0. */
        Objective.Step nothing() {
            engine.zeroGradients();
            Map<String, Double> zeros = new LinkedHashMap<>();
            objective.metricNames().forEach(name -> zeros.put(name, 0.0));
            return new Objective.Step(0, 0, zeros, 0);
        }

        /** A log line: the means since the previous one, this step's learning rate and gradient norm. */
        void log() {
            double seconds = (System.nanoTime() - logStart) / 1e9;
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

        /** Scores the eval split. */
        void evaluate() {
            Objective.Eval e = share.eval(objective.evaluate(engine, share.of(oneEpoch(eval, "eval"))),
                    objective.metricNames());
            TrainingListener.EvalLog log = new TrainingListener.EvalLog(at.step, epochProgress(at), e.loss(),
                    e.labelledTokens(), e.metrics());
            lastEval = log.loss();
            all.forEach(l -> l.onEval(log));
        }

        /** A checkpoint of the adapters, the optimizer state and the position. */
        void save() throws IOException {
            if (!share.writesFiles()) {
                lastCheckpoint = TrainingCheckpoint.folderFor(requireOutputDir(), at.step);
                return;
            }
            engine.storeAdapters(lora);
            engine.storeOptimizerState(optimizer);
            lastCheckpoint = TrainingCheckpoint.write(requireOutputDir(), args, objective.settings(), config, lora,
                    optimizer, baseIdentity(), at.step,
                    () -> new TrainingCheckpoint.State(at.step, at.epoch, at.batchesInEpoch, train.state(),
                            args.seed(), at.logLossSum, at.logSteps, at.logTokens, Map.copyOf(at.logMetricSums),
                            share.size()));
        }

        /** The trained adapters back into the run's, the listeners told, the loss curve drawn. */
        TrainResult finish() throws IOException {
            engine.storeAdapters(lora);
            all.forEach(TrainingListener::onEnd);
            if (metrics != null) {
                LossCurvePlot.write(args.outputDir().resolve(LossCurvePlot.FILE_NAME), metrics);
            }
            long ran = at.step - startStep;
            return new TrainResult(at.step, ran == 0 ? Double.NaN : runLossSum / ran, lastEval, lastCheckpoint);
        }
    }

    /**
     * The micro-batches of the next step over all workers: up to {@code gradientAccumulationSteps} per worker, fewer
     * at the end of an epoch; an exhausted epoch starts the next one.
     */
    private List<B> window(Position at) {
        List<B> window = new ArrayList<>();
        int global = Math.multiplyExact(args.gradientAccumulationSteps(), share.size());
        while (window.size() < global) {
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

package org.jtune.train;

import org.jtune.model.OptimizerSettings;

import java.nio.file.Path;

/**
 * The settings of a fine-tuning run, named after transformers' {@code TrainingArguments}. The defaults are those of
 * unsloth's example notebooks (which differ from transformers' own): batch 2, accumulation 4, learning rate 2e-4,
 * linear schedule with 5 warmup steps, weight decay 0.01, seed 3407, a log line every step.
 *
 * @param outputDir                 where checkpoints, {@code metrics.jsonl} and {@code loss_curve.png} go; null to
 *                                  write nothing
 * @param perDeviceTrainBatchSize   rows per micro-batch (the batch source must not give more)
 * @param gradientAccumulationSteps micro-batches per optimizer step
 * @param numTrainEpochs            epochs, when {@code maxSteps} is not positive
 * @param maxSteps                  optimizer steps; when positive it wins over the epochs (the data restarts as needed)
 * @param lrSchedulerType           the learning-rate schedule
 * @param warmupSteps               warmup in steps; when 0, {@code ceil(warmupRatio * total steps)}
 * @param weightDecay               AdamW's decoupled weight decay
 * @param maxGradNorm               clip the gradient to this global norm; 0 to not clip
 * @param seed                      the run's seed (for a shuffling batch source)
 * @param loggingSteps              a metrics line every this many steps, with the loss averaged over them
 * @param evalSteps                 evaluate every this many steps when there is an eval source; 0: as loggingSteps
 * @param saveSteps                 a checkpoint every this many steps and at the last step; 0: none
 * @param gradientCheckpointing     recompute each layer in backward instead of keeping its activations
 * @param progressBar               print progress to the console
 */
public record TrainingArguments(
        Path outputDir, int perDeviceTrainBatchSize, int gradientAccumulationSteps, int numTrainEpochs,
        long maxSteps, double learningRate, LrSchedule lrSchedulerType, long warmupSteps, double warmupRatio,
        double weightDecay, double adamBeta1, double adamBeta2, double adamEpsilon, double maxGradNorm, long seed,
        long loggingSteps, long evalSteps, long saveSteps, boolean gradientCheckpointing, boolean progressBar) {

    public TrainingArguments {
        require(perDeviceTrainBatchSize > 0, "per_device_train_batch_size must be positive, got "
                + perDeviceTrainBatchSize);
        require(gradientAccumulationSteps > 0, "gradient_accumulation_steps must be positive, got "
                + gradientAccumulationSteps);
        require(maxSteps > 0 || numTrainEpochs > 0, "set num_train_epochs or max_steps to a positive value");
        require(learningRate >= 0 && Double.isFinite(learningRate), "learning_rate must be >= 0, got " + learningRate);
        require(lrSchedulerType != null, "lr_scheduler_type must be set");
        require(warmupSteps >= 0, "warmup_steps must be >= 0, got " + warmupSteps);
        require(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio must be in [0, 1], got " + warmupRatio);
        require(maxGradNorm >= 0 && Double.isFinite(maxGradNorm), "max_grad_norm must be >= 0, got " + maxGradNorm);
        require(loggingSteps > 0, "logging_steps must be positive, got " + loggingSteps);
        require(evalSteps >= 0 && saveSteps >= 0, "eval_steps and save_steps must be >= 0");
        optimizerSettings(); // checks them
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The optimizer settings engines take: AdamW's and the clipping norm. */
    public OptimizerSettings optimizerSettings() {
        return new OptimizerSettings(adamBeta1, adamBeta2, adamEpsilon, weightDecay, maxGradNorm);
    }

    /** True if the settings that decide the numbers of every step (not the length of the run) are equal. */
    boolean sameStepMath(TrainingArguments o) {
        return perDeviceTrainBatchSize == o.perDeviceTrainBatchSize
                && gradientAccumulationSteps == o.gradientAccumulationSteps
                && learningRate == o.learningRate && lrSchedulerType == o.lrSchedulerType
                && warmupSteps == o.warmupSteps && warmupRatio == o.warmupRatio && weightDecay == o.weightDecay
                && adamBeta1 == o.adamBeta1 && adamBeta2 == o.adamBeta2 && adamEpsilon == o.adamEpsilon
                && maxGradNorm == o.maxGradNorm && seed == o.seed;
    }

    /** The keys, as transformers names them, of the settings {@link #sameStepMath} compares. */
    private static final java.util.List<String> STEP_MATH_KEYS = java.util.List.of("per_device_train_batch_size",
            "gradient_accumulation_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "warmup_ratio",
            "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "seed");

    /** The step-math settings that differ from {@code now}, one per line: {@code learning_rate: 0.01 -> 0.002}. */
    java.util.List<String> stepMathChanges(TrainingArguments now) {
        com.fasterxml.jackson.databind.JsonNode a = TrainingArgumentsJson.toJson(this);
        com.fasterxml.jackson.databind.JsonNode b = TrainingArgumentsJson.toJson(now);
        java.util.List<String> changes = new java.util.ArrayList<>();
        for (String key : STEP_MATH_KEYS) {
            if (!a.get(key).equals(b.get(key))) {
                changes.add(key + ": " + a.get(key).asText() + " -> " + b.get(key).asText());
            }
        }
        return changes;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds {@link TrainingArguments}, starting from unsloth's notebook defaults. */
    public static final class Builder {
        private Path outputDir;
        private int perDeviceTrainBatchSize = 2;
        private int gradientAccumulationSteps = 4;
        private int numTrainEpochs = 1;
        private long maxSteps = -1;
        private double learningRate = 2e-4;
        private LrSchedule lrSchedulerType = LrSchedule.LINEAR;
        private long warmupSteps = 5;
        private double warmupRatio = 0;
        /** Whether warmupSteps was set by the caller (not the default), so that a ratio must not silently lose. */
        private boolean warmupStepsGiven;
        private double weightDecay = 0.01;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private double maxGradNorm = 1.0;
        private long seed = 3407;
        private long loggingSteps = 1;
        private long evalSteps = 0;
        private long saveSteps = 500;
        private boolean gradientCheckpointing = true;
        private boolean progressBar = true;

        private Builder() {}

        private Builder(TrainingArguments a) {
            outputDir = a.outputDir;
            perDeviceTrainBatchSize = a.perDeviceTrainBatchSize;
            gradientAccumulationSteps = a.gradientAccumulationSteps;
            numTrainEpochs = a.numTrainEpochs;
            maxSteps = a.maxSteps;
            learningRate = a.learningRate;
            lrSchedulerType = a.lrSchedulerType;
            warmupSteps = a.warmupSteps;
            warmupRatio = a.warmupRatio;
            weightDecay = a.weightDecay;
            adamBeta1 = a.adamBeta1;
            adamBeta2 = a.adamBeta2;
            adamEpsilon = a.adamEpsilon;
            maxGradNorm = a.maxGradNorm;
            seed = a.seed;
            loggingSteps = a.loggingSteps;
            evalSteps = a.evalSteps;
            saveSteps = a.saveSteps;
            gradientCheckpointing = a.gradientCheckpointing;
            progressBar = a.progressBar;
        }

        public Builder outputDir(Path v) { outputDir = v; return this; }
        public Builder perDeviceTrainBatchSize(int v) { perDeviceTrainBatchSize = v; return this; }
        public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
        public Builder numTrainEpochs(int v) { numTrainEpochs = v; return this; }
        public Builder maxSteps(long v) { maxSteps = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder lrSchedulerType(LrSchedule v) { lrSchedulerType = v; return this; }
        public Builder lrSchedulerType(String hfName) { lrSchedulerType = LrSchedule.fromName(hfName); return this; }
        public Builder warmupSteps(long v) {
            warmupSteps = v;
            warmupStepsGiven = true;
            return this;
        }

        /** Warmup as a fraction of the steps; it replaces the default 5 warmup steps unless those were given too. */
        public Builder warmupRatio(double v) {
            warmupRatio = v;
            if (!warmupStepsGiven) {
                warmupSteps = 0;
            }
            return this;
        }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder adamBeta1(double v) { adamBeta1 = v; return this; }
        public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
        public Builder adamEpsilon(double v) { adamEpsilon = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder loggingSteps(long v) { loggingSteps = v; return this; }
        public Builder evalSteps(long v) { evalSteps = v; return this; }
        public Builder saveSteps(long v) { saveSteps = v; return this; }
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }
        public Builder progressBar(boolean v) { progressBar = v; return this; }

        public TrainingArguments build() {
            if (warmupStepsGiven && warmupSteps > 0 && warmupRatio > 0) {
                throw new IllegalArgumentException("warmup_steps " + warmupSteps + " and warmup_ratio " + warmupRatio
                        + " both given: give one (transformers lets the steps win, which hides the ratio)");
            }
            return new TrainingArguments(outputDir, perDeviceTrainBatchSize, gradientAccumulationSteps,
                    numTrainEpochs, maxSteps, learningRate, lrSchedulerType, warmupSteps, warmupRatio, weightDecay,
                    adamBeta1, adamBeta2, adamEpsilon, maxGradNorm, seed, loggingSteps, evalSteps, saveSteps,
                    gradientCheckpointing, progressBar);
        }
    }
}

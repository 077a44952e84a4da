package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.data.ReadLimits;
import org.jtune.model.LoraTarget;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.train.LrSchedule;
import org.jtune.train.TrainingArguments;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reading the options that the training commands ({@code sft}, {@code dpo}) share: values checked, defaults given. */
final class RunOptions {
    /** A command's defaults for the training arguments (warmup as steps, or as a ratio where steps is negative). */
    record TrainingDefaults(int batchSize, int gradAccum, int epochs, double lr, long warmupSteps, double warmupRatio,
                            double weightDecay, int loggingSteps, long saveSteps, boolean gradientCheckpointing) {}

    private RunOptions() {}

    /** The training arguments from the options, with {@code d} for what they leave unset. */
    static TrainingArguments training(OptionParser.Parsed p, TrainingDefaults d, Path output) {
        if (p.has("warmup-steps") && p.has("warmup-ratio")) {
            throw new UsageException("give " + p.origin("warmup-steps") + " or " + p.origin("warmup-ratio")
                    + ", not both");
        }
        TrainingArguments.Builder b = TrainingArguments.builder()
                .outputDir(output)
                .perDeviceTrainBatchSize(positive(p, "batch-size", d.batchSize()))
                .gradientAccumulationSteps(positive(p, "grad-accum", d.gradAccum()))
                .numTrainEpochs(positive(p, "epochs", d.epochs()))
                .maxSteps(p.has("max-steps") ? positive(p, "max-steps", 0) : -1)
                .learningRate(nonNegative(p, "lr", d.lr()))
                .weightDecay(nonNegative(p, "weight-decay", d.weightDecay()))
                .maxGradNorm(nonNegative(p, "max-grad-norm", 1.0))
                .seed(p.longValue("seed", 3407))
                .loggingSteps(positive(p, "logging-steps", d.loggingSteps()))
                .saveSteps(p.longValue("save-steps", d.saveSteps()))
                .gradientCheckpointing(p.flag("gradient-checkpointing", d.gradientCheckpointing()))
                .progressBar(false); // the command adds its own, on its output stream
        if (p.has("warmup-ratio") || (!p.has("warmup-steps") && d.warmupSteps() < 0)) {
            double ratio = p.decimal("warmup-ratio", d.warmupRatio());
            if (ratio < 0 || ratio > 1) {
                throw new UsageException(p.origin("warmup-ratio") + " must be in [0, 1], got " + ratio);
            }
            b.warmupSteps(0).warmupRatio(ratio);
        } else {
            b.warmupSteps(p.longValue("warmup-steps", d.warmupSteps()));
        }
        try {
            b.lrSchedulerType(LrSchedule.fromName(p.string("scheduler", "linear")));
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The caps of the data reader, raised by --max-line-bytes and --max-data-bytes. */
    static ReadLimits readLimits(OptionParser.Parsed p) {
        long line = p.longValue("max-line-bytes", ReadLimits.DEFAULT.maxLineBytes());
        long file = p.longValue("max-data-bytes", ReadLimits.DEFAULT.maxFileBytes());
        try {
            return new ReadLimits(line, file);
        } catch (IllegalArgumentException e) {
            throw new UsageException((p.has("max-line-bytes") ? p.origin("max-line-bytes") : p.origin("max-data-bytes"))
                    + ": " + e.getMessage());
        }
    }

    /** Whether {@code --report-to} (transformers' {@code report_to}) asks for TensorBoard event files. */
    static boolean tensorBoard(OptionParser.Parsed p) {
        boolean tensorBoard = false;
        for (String name : p.string("report-to", "none").split("[,\\s]+")) {
            switch (name.strip().toLowerCase(Locale.ROOT)) {
                case "tensorboard", "all" -> tensorBoard = true;
                case "none", "" -> { }
                default -> throw new UsageException(p.origin("report-to") + ": '" + name + "' is not written here "
                        + "(tensorboard or none; metrics.jsonl is always written)");
            }
        }
        return tensorBoard;
    }

    static BuiltinChatTemplate template(OptionParser.Parsed p) {
        String name = p.string("chat-template", null);
        if (name == null) {
            return null;
        }
        for (BuiltinChatTemplate t : BuiltinChatTemplate.values()) {
            if (t.name().toLowerCase(Locale.ROOT).equals(name)) {
                return t;
            }
        }
        throw new UsageException(p.origin("chat-template") + ": unknown chat template '" + name
                + "' (llama2, llama3, mistral, chatml)");
    }

    static List<String> targets(OptionParser.Parsed p) {
        String given = p.string("target-modules", null);
        if (given == null || given.strip().equals("all-linear")) {
            return FastLanguageModel.ALL_PROJECTIONS;
        }
        List<String> names = new ArrayList<>();
        for (String name : given.split(",")) {
            String n = name.strip();
            try {
                LoraTarget.fromModuleName(n);
            } catch (IllegalArgumentException e) {
                throw new UsageException(p.origin("target-modules") + ": " + e.getMessage());
            }
            if (!names.contains(n)) {
                names.add(n);
            }
        }
        return List.copyOf(names);
    }

    static double loraAlpha(OptionParser.Parsed p) {
        double loraAlpha = p.decimal("lora-alpha", 16);
        if (!(loraAlpha > 0)) {
            throw new UsageException(p.origin("lora-alpha") + " must be positive, got " + loraAlpha);
        }
        return loraAlpha;
    }

    static double evalSplit(OptionParser.Parsed p) {
        double evalSplit = p.decimal("eval-split", 0);
        if (evalSplit < 0 || evalSplit >= 1) {
            throw new UsageException(p.origin("eval-split") + " must be a fraction in [0, 1), got " + evalSplit);
        }
        return evalSplit;
    }

    static long evalSteps(OptionParser.Parsed p) {
        long evalSteps = p.longValue("eval-steps", 0);
        if (evalSteps < 0) {
            throw new UsageException(p.origin("eval-steps") + " must be positive, got " + evalSteps);
        }
        return evalSteps;
    }

    static int positive(OptionParser.Parsed p, String name, int otherwise) {
        long v = p.longValue(name, otherwise);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw new UsageException(p.origin(name) + " must be a positive whole number, got " + v);
        }
        return (int) v;
    }

    static double nonNegative(OptionParser.Parsed p, String name, double otherwise) {
        double v = p.decimal(name, otherwise);
        if (v < 0) {
            throw new UsageException(p.origin(name) + " must be >= 0, got " + v);
        }
        return v;
    }
}

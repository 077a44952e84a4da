package org.jtune.cli;

import org.jtune.data.PreferenceOptions;
import org.jtune.data.ReadLimits;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.train.DpoArguments;
import org.jtune.train.DpoLossType;
import org.jtune.train.TrainingArguments;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.jtune.cli.OptionParser.Kind.FLAG;
import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * The settings of {@code dpo}: those of {@code sft} that apply to preference pairs, plus TRL's DPO settings. The
 * defaults are TRL's for DPO (beta 0.1, sigmoid loss, max length 1024) and, for the run, those of unsloth's DPO
 * notebook (batch 2 x 4, learning rate 5e-6, warmup ratio 0.1, no weight decay): TRL's own 5e-7 barely moves
 * LoRA adapters. The demo has its own (a random base needs a far higher learning rate).
 *
 * @param model     the base model: a folder, or a Hub id; null for the demo
 * @param template  a built-in chat template, or null for the tokenizer's own
 * @param evalSteps evaluate every this many steps; 0 for ten evaluations over the run
 */
record DpoSettings(String model, List<String> data, BuiltinChatTemplate template, int maxLength, boolean skipBadRecords,
                   boolean loadIn4bit, int loraR, double loraAlpha, List<String> targetModules, boolean rslora,
                   double evalSplit, long evalSteps, Path output, boolean resume, boolean overwriteOutputDir,
                   ReadLimits readLimits, TrainingArguments training, boolean tensorBoard,
                   DpoArguments dpo) {

    /** The options of sft that apply to preference pairs, in sft's order. */
    private static final List<String> FROM_SFT = List.of("model", "data", "chat-template", "max-seq-length",
            "batch-size", "grad-accum", "gpus", "epochs", "max-steps", "lr", "scheduler", "warmup-steps", "warmup-ratio",
            "weight-decay", "max-grad-norm", "seed", "eval-split", "eval-steps", "logging-steps", "save-steps",
            "output", "resume", "overwrite-output-dir", "load-in-4bit", "skip-bad-records", "max-line-bytes",
            "max-data-bytes", "lora-r", "lora-alpha", "target-modules", "rslora", "report-to", "gradient-checkpointing", "bf16",
            "tf32", "use-peft", "lora-dropout", "optim");

    /** Their help where dpo reads them otherwise or has other defaults. */
    private static final Map<String, String> OWN_HELP = Map.of(
            "data", "preference pairs: prompt, chosen, rejected (strings or message lists), in .jsonl, .json, "
                    + ".parquet, .csv or .tsv files, or a Hub dataset org/name[@revision] (its train split); repeat "
                    + "for several; default: the demo dataset",
            "max-seq-length", "longest prompt + completion in tokens (longer ones keep their start); default 1024 "
                    + "(demo 128)",
            "batch-size", "preference pairs per micro-batch (two rows each); default 2 (demo 4)",
            "epochs", "passes over the data; default 1 (demo 6, over its first " + DpoCommand.DEMO_PAIRS + " pairs)",
            "lr", "peak learning rate; default 5e-6 (demo 3e-3: small adapters on a random base)",
            "warmup-steps", "warmup steps, instead of --warmup-ratio (demo 10)",
            "warmup-ratio", "warmup as a fraction of the steps; default 0.1",
            "weight-decay", "AdamW weight decay; default 0",
            "save-steps", "a checkpoint every N steps and at the end, 0 for none; default 500 (demo 100)",
            "output", "where adapter, checkpoints and metrics go; default outputs (demo jtune-dpo-demo)");

    static final OptionParser PARSER = new OptionParser("dpo", "[--model NAME --data FILE...] [OPTIONS]",
            """
            Direct preference optimization of LoRA adapters on prompt/chosen/rejected pairs (QLoRA with
            --load-in-4bit); the reference model is the base with the adapters off. Trains on the CPU. Without
            --model it runs the demo: a tiny random-initialized model learns to prefer the right WordNet
            definitions. Writes OUTPUT/adapter, OUTPUT/checkpoint-N, OUTPUT/metrics.jsonl and OUTPUT/loss_curve.png.""",
            options(), true);

    private static List<OptionParser.Option> options() {
        List<OptionParser.Option> list = new ArrayList<>();
        for (String name : FROM_SFT) {
            OptionParser.Option o = SftSettings.PARSER.option(name);
            list.add(OWN_HELP.containsKey(name) ? o.withHelp(OWN_HELP.get(name)) : o);
        }
        list.add(new OptionParser.Option("beta", VALUE, "X", false,
                "temperature of the implicit reward: higher stays closer to the reference; default 0.1"));
        list.add(new OptionParser.Option("loss", VALUE, "NAME", false,
                "sigmoid (the DPO paper's) | ipo | hinge; default sigmoid"));
        list.add(new OptionParser.Option("label-smoothing", VALUE, "X", false,
                "conservative DPO: the assumed rate of flipped labels, in [0, 0.5), sigmoid loss only; default 0"));
        list.add(new OptionParser.Option("precompute-ref-log-probs", FLAG, null, false,
                "compute the reference log-probabilities once before training instead of in every step"));
        return List.copyOf(list);
    }

    /** unsloth's DPO notebook: batch 2 x 4, lr 5e-6, warmup ratio 0.1, no weight decay. */
    private static final RunOptions.TrainingDefaults TRAINING = new RunOptions.TrainingDefaults(2, 4, 1, 5e-6, -1, 0.1,
            0, 1, 500, true);
    /** The demo's: a short run on a random base wants a higher learning rate, and several passes to learn. */
    private static final RunOptions.TrainingDefaults DEMO_TRAINING = new RunOptions.TrainingDefaults(4, 1, 6, 3e-3, 10,
            0, 0, 10, 100, false);

    /** The settings in {@code parsed}; bad values are {@link UsageException}s naming the option. */
    static DpoSettings from(OptionParser.Parsed p) {
        TrlCompatibility.check(p);
        boolean demo = !p.has("model");
        String model = demo ? null : p.string("model", null);
        List<String> data = p.list("data");
        if (demo && !data.isEmpty()) {
            throw new UsageException("--data needs --model: without --model, dpo runs the demo on its own dataset");
        }
        if (!demo && data.isEmpty()) {
            throw new UsageException("--data FILE is required with --model");
        }
        int maxLength = RunOptions.positive(p, "max-seq-length", demo ? 128 : PreferenceOptions.DEFAULT_MAX_LENGTH);
        Path output = Path.of(p.string("output", demo ? "jtune-dpo-demo" : "outputs"));
        return new DpoSettings(model, data, RunOptions.template(p), maxLength, p.flag("skip-bad-records", false),
                p.flag("load-in-4bit", false), RunOptions.positive(p, "lora-r", 16), RunOptions.loraAlpha(p),
                RunOptions.targets(p), p.flag("rslora", false), RunOptions.evalSplit(p), RunOptions.evalSteps(p),
                output, p.flag("resume", false), p.flag("overwrite-output-dir", false),
                RunOptions.readLimits(p), RunOptions.training(p, demo ? DEMO_TRAINING : TRAINING, output), RunOptions.tensorBoard(p),
                dpo(p));
    }

    boolean demo() {
        return model == null;
    }

    private static DpoArguments dpo(OptionParser.Parsed p) {
        DpoArguments d = DpoArguments.defaults();
        try {
            d = d.withBeta(p.decimal("beta", d.beta()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(p.origin("beta") + ": " + e.getMessage());
        }
        try {
            d = d.withLossType(DpoLossType.fromName(p.string("loss", d.lossType().trlName())));
        } catch (IllegalArgumentException e) {
            throw new UsageException(p.origin("loss") + ": " + e.getMessage());
        }
        try {
            d = d.withLabelSmoothing(p.decimal("label-smoothing", d.labelSmoothing()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(p.origin("label-smoothing") + ": " + e.getMessage());
        }
        return d.withPrecomputeRefLogProbs(p.flag("precompute-ref-log-probs", false));
    }
}

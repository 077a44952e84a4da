package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.data.RecordFormat;
import org.jtune.data.ReadLimits;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.train.TrainingArguments;

import java.nio.file.Path;
import java.util.List;

import static org.jtune.cli.OptionParser.Kind.FLAG;
import static org.jtune.cli.OptionParser.Kind.LIST;
import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * The settings of {@code sft}, from the command line and config file, with the defaults of unsloth's notebooks
 * (LoRA r 16, alpha 16, dropout 0 on all seven projections; batch 2 x 4 accumulation; learning rate 2e-4 with a
 * linear schedule after 5 warmup steps; weight decay 0.01; seed 3407). Without {@code --model} the demo's defaults
 * apply where the help says so (a higher learning rate for a short run on a random base, shorter rows, ...).
 *
 * @param model     the base model: a folder, or a Hub id (org/name[@revision]); null for the demo
 * @param format    the record format, or null to detect it
 * @param template  a built-in chat template, or null for the tokenizer's own
 * @param evalSteps evaluate every this many steps; 0 for ten evaluations over the run
 */
record SftSettings(String model, List<String> data, RecordFormat format, BuiltinChatTemplate template,
                   boolean trainOnAllTokens, int maxSeqLength, boolean packing, boolean skipBadRecords,
                   boolean loadIn4bit, int loraR, double loraAlpha, List<String> targetModules, boolean rslora,
                   double evalSplit, long evalSteps, Path output, boolean resume, boolean overwriteOutputDir,
                   ReadLimits readLimits, TrainingArguments training, boolean tensorBoard) {

    static final OptionParser PARSER = new OptionParser("sft", "[--model NAME --data FILE...] [OPTIONS]",
            """
            Supervised fine-tuning of LoRA adapters (QLoRA with --load-in-4bit). Without --model it runs the demo:
            a tiny random-initialized model learns the shipped WordNet definitions dataset in about a minute.
            Writes OUTPUT/adapter (a PEFT adapter), OUTPUT/checkpoint-N, OUTPUT/metrics.jsonl and
            OUTPUT/loss_curve.png.""",
            TrlCompatibility.after(List.of(
                    new OptionParser.Option("model", VALUE, "NAME", false,
                            "Hugging Face model folder (config.json, *.safetensors, tokenizer.json), or a Hub id "
                                    + "org/name[@revision] (from the Hugging Face cache, downloaded into it where "
                                    + "missing); default: the demo model"),
                    new OptionParser.Option("data", LIST, "FILE", false,
                            "training data: .jsonl, .json, .parquet, .csv or .tsv (text files optionally "
                                    + ".gz/.bz2/.xz/.zst), or a Hub dataset org/name[@revision] (its train split); "
                                    + "repeat for several; default: the demo dataset"),
                    new OptionParser.Option("format", VALUE, "NAME", false,
                            "text | prompt-completion | messages | sharegpt | alpaca; default: detected from the first record"),
                    new OptionParser.Option("chat-template", VALUE, "NAME", false,
                            "llama2 | llama3 | mistral | chatml, for tokenizers that ship none; default: the "
                                    + "tokenizer's own"),
                    new OptionParser.Option("train-on-all-tokens", FLAG, null, false,
                            "compute the loss on prompts and user turns too (default: completions and assistant "
                                    + "turns only)"),
                    new OptionParser.Option("max-seq-length", VALUE, "N", false,
                            "longest example in tokens (longer ones keep their start) and packed row length; "
                                    + "default 2048 (demo 256)"),
                    new OptionParser.Option("packing", FLAG, null, true,
                            "pack several examples into each row, attention kept within each (default on)"),
                    new OptionParser.Option("batch-size", VALUE, "N", false,
                            "rows per micro-batch (per_device_train_batch_size); default 2 (demo 4)"),
                    new OptionParser.Option("grad-accum", VALUE, "N", false,
                            "micro-batches per optimizer step; default 4 (demo 1)"),
                    new OptionParser.Option("gpus", VALUE, "N", false,
                            "GPUs to train on, one worker each (also --num-processes, --nproc-per-node); default 1, "
                                    + "the only count this build runs"),
                    new OptionParser.Option("epochs", VALUE, "N", false, "passes over the data; default 1"),
                    new OptionParser.Option("max-steps", VALUE, "N", false,
                            "optimizer steps; wins over --epochs when given"),
                    new OptionParser.Option("lr", VALUE, "X", false,
                            "peak learning rate; default 2e-4 (demo 1e-2: small adapters on a random base)"),
                    new OptionParser.Option("scheduler", VALUE, "NAME", false,
                            "linear | cosine | constant | constant_with_warmup; default linear"),
                    new OptionParser.Option("warmup-steps", VALUE, "N", false, "warmup steps; default 5 (demo 10)"),
                    new OptionParser.Option("warmup-ratio", VALUE, "X", false,
                            "warmup as a fraction of the steps, instead of --warmup-steps"),
                    new OptionParser.Option("weight-decay", VALUE, "X", false, "AdamW weight decay; default 0.01"),
                    new OptionParser.Option("max-grad-norm", VALUE, "X", false,
                            "clip the gradient to this norm, 0 for none; default 1.0"),
                    new OptionParser.Option("seed", VALUE, "N", false,
                            "seed of the LoRA init, shuffling and eval split; default 3407"),
                    new OptionParser.Option("eval-split", VALUE, "FRACTION", false,
                            "hold out this fraction of the examples to evaluate on; default 0 (none)"),
                    new OptionParser.Option("eval-steps", VALUE, "N", false,
                            "evaluate every N steps; default: ten evaluations over the run"),
                    new OptionParser.Option("logging-steps", VALUE, "N", false,
                            "a metrics line every N steps; default 1 (demo 10)"),
                    new OptionParser.Option("save-steps", VALUE, "N", false,
                            "a checkpoint every N steps and at the end, 0 for none; default 500 (demo 50)"),
                    new OptionParser.Option("output", VALUE, "DIR", false,
                            "where adapter, checkpoints and metrics go; default outputs (demo jtune-demo)"),
                    new OptionParser.Option("resume", FLAG, null, false,
                            "continue from the latest checkpoint in the output folder"),
                    new OptionParser.Option("overwrite-output-dir", FLAG, null, false,
                            "replace the adapter a finished run left in the output folder"),
                    new OptionParser.Option("load-in-4bit", FLAG, null, false,
                            "quantize the base model's projections to NF4 on load (QLoRA)"),
                    new OptionParser.Option("skip-bad-records", FLAG, null, false,
                            "skip records that cannot be used, and count them, instead of stopping at the first"),
                    new OptionParser.Option("max-line-bytes", VALUE, "N", false,
                            "longest record line read, in bytes; default 67108864 (64 MiB)"),
                    new OptionParser.Option("max-data-bytes", VALUE, "N", false,
                            "most bytes read from one data file after decompression; default 68719476736 (64 GiB)"),
                    new OptionParser.Option("lora-r", VALUE, "N", false, "LoRA rank; default 16"),
                    new OptionParser.Option("lora-alpha", VALUE, "X", false, "LoRA alpha; default 16"),
                    new OptionParser.Option("target-modules", VALUE, "LIST", false,
                            "comma-separated projections to adapt, or all-linear; default all seven: "
                                    + String.join(",", FastLanguageModel.ALL_PROJECTIONS)),
                    new OptionParser.Option("rslora", FLAG, null, false, "rank-stabilized LoRA: scale by alpha/sqrt(r)"),
                    new OptionParser.Option("report-to", VALUE, "NAME", false,
                            "tensorboard: also write the metrics as TensorBoard event files in OUTPUT/runs; "
                                    + "default none"),
                    new OptionParser.Option("gradient-checkpointing", FLAG, null, true,
                            "recompute activations in backward to save memory (default on; demo off)"))),
            true);

    /** unsloth's notebook defaults: batch 2 x 4, lr 2e-4, 5 warmup steps, weight decay 0.01. */
    private static final RunOptions.TrainingDefaults TRAINING = new RunOptions.TrainingDefaults(2, 4, 1, 2e-4, 5, 0,
            0.01, 1, 500, true);
    /** The demo's: a short run on a random base wants a higher learning rate and fewer log lines. */
    private static final RunOptions.TrainingDefaults DEMO_TRAINING = new RunOptions.TrainingDefaults(4, 1, 1, 1e-2, 10,
            0, 0.01, 10, 50, false);

    /** The settings in {@code parsed}; bad values are {@link UsageException}s naming the option. */
    static SftSettings from(OptionParser.Parsed p) {
        TrlCompatibility.check(p);
        boolean demo = !p.has("model");
        String model = demo ? null : p.string("model", null);
        List<String> data = p.list("data");
        if (demo && !data.isEmpty()) {
            throw new UsageException("--data needs --model: without --model, sft runs the demo on its own dataset");
        }
        if (!demo && data.isEmpty()) {
            throw new UsageException("--data FILE is required with --model");
        }
        int maxSeqLength = RunOptions.positive(p, "max-seq-length", demo ? 256 : 2048);
        int loraR = RunOptions.positive(p, "lora-r", 16);
        Path output = Path.of(p.string("output", demo ? "jtune-demo" : "outputs"));
        return new SftSettings(model, data, format(p), RunOptions.template(p), p.flag("train-on-all-tokens", false),
                maxSeqLength, p.flag("packing", true), p.flag("skip-bad-records", false),
                p.flag("load-in-4bit", false), loraR, RunOptions.loraAlpha(p), RunOptions.targets(p),
                p.flag("rslora", false), RunOptions.evalSplit(p), RunOptions.evalSteps(p), output,
                p.flag("resume", false), p.flag("overwrite-output-dir", false),
                RunOptions.readLimits(p), RunOptions.training(p, demo ? DEMO_TRAINING : TRAINING, output), RunOptions.tensorBoard(p));
    }

    boolean demo() {
        return model == null;
    }

    private static RecordFormat format(OptionParser.Parsed p) {
        String name = p.string("format", null);
        if (name == null) {
            return null;
        }
        return switch (name) {
            case "text" -> RecordFormat.TEXT;
            case "prompt-completion" -> RecordFormat.PROMPT_COMPLETION;
            case "messages" -> RecordFormat.MESSAGES;
            case "sharegpt", "conversations" -> RecordFormat.SHAREGPT;
            case "alpaca" -> RecordFormat.ALPACA;
            default -> throw new UsageException(p.origin("format") + ": unknown format '" + name
                    + "' (text, prompt-completion, messages, sharegpt, alpaca)");
        };
    }
}

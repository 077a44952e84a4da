package org.jtune.cli;

import org.jtune.generate.GenerationConfig;
import org.jtune.tokenizer.BuiltinChatTemplate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.jtune.cli.OptionParser.Kind.FLAG;
import static org.jtune.cli.OptionParser.Kind.LIST;
import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * The options {@code chat}, {@code generate} and {@code serve} share: which model to load and how, and the
 * generation settings (transformers' names), whose defaults are the model's own generation_config.json.
 */
final class InferenceOptions {
    private InferenceOptions() {}

    /** The model to load. */
    /** @param model a model folder or Hub id; null for the adapter's base */
    record ModelChoice(String model, Path adapter, boolean loadIn4bit, Integer maxSeqLength,
                       BuiltinChatTemplate template) {}

    /** @param batchHelp the help of --max-batch-size, or null for a command without it */
    static List<OptionParser.Option> modelOptions(String batchHelp) {
        List<OptionParser.Option> list = new ArrayList<>(List.of(
                new OptionParser.Option("model", VALUE, "DIR", false,
                        "Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or Hub id "
                                + "(org/name[@revision]); default: the adapter's base_model_name_or_path"),
                new OptionParser.Option("adapter", VALUE, "DIR", false,
                        "a PEFT LoRA adapter to apply on the fly (OUTPUT/adapter of sft, or a checkpoint-N folder)"),
                new OptionParser.Option("load-in-4bit", FLAG, null, false,
                        "quantize the projections to NF4 on load (as QLoRA trains)"),
                new OptionParser.Option("max-seq-length", VALUE, "N", false,
                        "most tokens per sequence, prompt and answer; default the model's max_position_embeddings,"
                                + " at most 4096"),
                new OptionParser.Option("chat-template", VALUE, "NAME", false,
                        "llama2 | llama3 | mistral | chatml, for tokenizers that ship none; default: the "
                                + "tokenizer's own")));
        if (batchHelp != null) {
            list.add(new OptionParser.Option("max-batch-size", VALUE, "N", false, batchHelp));
        }
        return list;
    }

    static List<OptionParser.Option> samplingOptions() {
        return List.of(
                new OptionParser.Option("max-new-tokens", VALUE, "N", false,
                        "most tokens to generate per answer; default the model's, else 256"),
                new OptionParser.Option("do-sample", FLAG, null, true,
                        "sample instead of taking the most likely token; default the model's (on with "
                                + "--temperature above 0)"),
                new OptionParser.Option("temperature", VALUE, "X", false,
                        "divide the logits by X before sampling; 0 means greedy"),
                new OptionParser.Option("top-k", VALUE, "N", false, "sample among the N most likely; 0 off; default 50"),
                new OptionParser.Option("top-p", VALUE, "X", false,
                        "sample among the most likely tokens that reach probability X; default 1 (off)"),
                new OptionParser.Option("min-p", VALUE, "X", false,
                        "drop tokens less likely than X times the most likely; default off"),
                new OptionParser.Option("repetition-penalty", VALUE, "X", false,
                        "damp the scores of tokens already in the text (X > 1); default 1 (off)"),
                new OptionParser.Option("seed", VALUE, "N", false, "seed for sampling: the same answers every run"),
                new OptionParser.Option("stop", LIST, "TEXT", false,
                        "stop generating at this text (left out); may be repeated"));
    }

    static List<OptionParser.Option> concat(List<OptionParser.Option> a, List<OptionParser.Option> b,
                                            List<OptionParser.Option> c) {
        List<OptionParser.Option> all = new ArrayList<>(a);
        all.addAll(b);
        all.addAll(c);
        return all;
    }

    static ModelChoice modelChoice(OptionParser.Parsed p) {
        if (!p.has("model") && !p.has("adapter")) {
            throw new UsageException("--model DIR (and/or --adapter DIR) is required");
        }
        Integer maxSeqLength = p.has("max-seq-length") ? RunOptions.positive(p, "max-seq-length", 0) : null;
        return new ModelChoice(p.string("model", null),
                p.has("adapter") ? Path.of(p.string("adapter", null)) : null, p.flag("load-in-4bit", false),
                maxSeqLength, RunOptions.template(p));
    }

    /** The model's generation settings with the options given on top. */
    static GenerationConfig generation(OptionParser.Parsed p, GenerationConfig model) {
        GenerationConfig c = model;
        try {
            if (p.has("max-new-tokens")) {
                c = c.withMaxNewTokens(RunOptions.positive(p, "max-new-tokens", 0));
            }
            if (p.has("temperature")) {
                double t = RunOptions.nonNegative(p, "temperature", 1);
                c = t == 0 ? c.withDoSample(false) : c.withTemperature(t).withDoSample(true);
            }
            if (p.has("do-sample")) {
                c = c.withDoSample(p.flag("do-sample", false));
                if (c.doSample() && c.temperature() == 0) {
                    c = c.withTemperature(1);
                }
            }
            if (p.has("top-k")) {
                c = c.withTopK(p.integer("top-k", 50));
            }
            if (p.has("top-p")) {
                c = c.withTopP(p.decimal("top-p", 1));
            }
            if (p.has("min-p")) {
                c = c.withMinP(p.decimal("min-p", 0));
            }
            if (p.has("repetition-penalty")) {
                c = c.withRepetitionPenalty(p.decimal("repetition-penalty", 1));
            }
            if (p.has("seed")) {
                c = c.withSeed(p.longValue("seed", 0));
            }
            if (p.has("stop")) {
                c = c.withStopStrings(p.list("stop"));
            }
        } catch (IllegalArgumentException e) { // a value GenerationConfig refuses
            throw new UsageException(e.getMessage());
        }
        return c;
    }
}

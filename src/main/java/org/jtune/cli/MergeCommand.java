package org.jtune.cli;

import org.jtune.api.LanguageModel;
import org.jtune.api.PeftModel;
import org.jtune.io.hub.ConsoleDownloadProgress;
import org.jtune.io.hub.HubModels;
import org.jtune.io.hub.HubSettings;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.ModelLoader;
import org.jtune.tensor.DType;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * {@code merge}: a base model folder plus a PEFT adapter becomes one transformers model folder with the adapter
 * merged into the weights (unsloth's {@code save_pretrained_merged(save_method="merged_16bit")}), tokenizer files
 * included.
 */
final class MergeCommand implements Main.Command {
    static final OptionParser PARSER = new OptionParser("merge", "--adapter DIR --output DIR [--model NAME] [--dtype T]",
            """
            Merges a LoRA adapter into its base model and writes a Hugging Face model folder (config.json,
            model.safetensors or shards, tokenizer files) that transformers and jtune load like any model.""",
            List.of(
                    new OptionParser.Option("adapter", VALUE, "DIR", false,
                            "the PEFT adapter folder (OUTPUT/adapter of sft, or a checkpoint-N folder)"),
                    new OptionParser.Option("output", VALUE, "DIR", false, "where to write the merged model"),
                    new OptionParser.Option("model", VALUE, "NAME", false,
                            "the 16-bit base model: a folder or a Hub id; default: the adapter's "
                                    + "base_model_name_or_path"),
                    new OptionParser.Option("dtype", VALUE, "T", false,
                            "bf16 | f16 | f32, the dtype of the merged weights; default bf16")),
            false);

    @Override
    public String summary() {
        return "merge a LoRA adapter into its base model, as a 16-bit model folder";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed p = PARSER.parse(args);
        if (p.help()) {
            PARSER.printHelp(out);
            return 0;
        }
        if (!p.has("adapter") || !p.has("output")) {
            throw new UsageException("--adapter DIR and --output DIR are required");
        }
        Path adapter = Path.of(p.string("adapter", null));
        Path output = Path.of(p.string("output", null));
        DType dtype = switch (p.string("dtype", "bf16")) {
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            case "f32" -> DType.F32;
            default -> throw new UsageException(p.origin("dtype") + ": unknown dtype '" + p.string("dtype", null)
                    + "' (bf16, f16, f32)");
        };
        Path base = HubModels.locate(p.has("model") ? p.string("model", null) : ModelFiles.baseOf(adapter),
                HubSettings.fromEnvironment(), new ConsoleDownloadProgress(out, out == System.out
                        && RunReport.isTerminal()));
        OutputFolders.requireUsable(output, "--output");
        OutputFolders.refuseInside(output, base, "--output", "base model folder");
        OutputFolders.refuseInside(output, adapter, "--output", "adapter folder");
        try (LoadedModel loaded = ModelLoader.load(base, LoadOptions.asStored())) {
            LanguageModel model = new LanguageModel(loaded.config(), loaded.source(), loaded.weights(),
                    loaded.config().maxPositionEmbeddings(), loaded.configJson());
            try (PeftModel peft = PeftModel.fromAdapter(model, adapter)) {
                out.printf(Locale.ROOT, "merging %s (r %d) into %s ...%n", adapter, peft.adapters().config().rank(),
                        base);
                peft.saveMerged(output, dtype);
            }
        }
        ModelFiles.copyTokenizerFiles(Files.isRegularFile(base.resolve("tokenizer.json")) ? base : adapter, output);
        out.println("merged model (" + dtype.name().toLowerCase(Locale.ROOT) + ") written to " + output);
        return 0;
    }
}

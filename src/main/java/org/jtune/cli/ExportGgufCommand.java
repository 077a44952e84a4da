package org.jtune.cli;

import org.jtune.export.GgufExporter;
import org.jtune.export.GgufFileType;
import org.jtune.export.OllamaModelfile;
import org.jtune.io.GgmlType;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.io.hub.ConsoleDownloadProgress;
import org.jtune.io.hub.HubModels;
import org.jtune.io.hub.HubSettings;
import org.jtune.io.hub.RepoId;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelLoader;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.LlamaCppVocabulary;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.AdapterFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * {@code export-gguf}: a model folder, with a LoRA adapter merged in if one is given, written as one GGUF file for
 * llama.cpp, Ollama and LM Studio (unsloth's {@code save_pretrained_gguf}), with an Ollama {@code Modelfile} next to it.
 */
final class ExportGgufCommand implements Main.Command {
    static final OptionParser PARSER = new OptionParser("export-gguf",
            "--output FILE.gguf [--model NAME] [--adapter DIR] [--type T]",
            """
            Writes a Llama, Mistral, Qwen2, Qwen3 or Gemma 3 model (with a LoRA adapter merged in, if given) as a
            GGUF file that llama.cpp, Ollama and LM Studio load, and an Ollama Modelfile next to it. Types: f16 and bf16 (as llama.cpp's
            converter writes them), q8_0, q4_0 and q4_k_m (the tensor types llama.cpp's quantize tool chooses).""",
            List.of(
                    new OptionParser.Option("output", VALUE, "FILE", false, "the GGUF file to write"),
                    new OptionParser.Option("model", VALUE, "NAME", false,
                            "the 16-bit model: a folder or a Hub id; default: the adapter's base_model_name_or_path"),
                    new OptionParser.Option("adapter", VALUE, "DIR", false,
                            "a PEFT adapter folder to merge in (OUTPUT/adapter of sft, or a checkpoint-N folder)"),
                    new OptionParser.Option("type", VALUE, "T", false, "f16 | bf16 | q8_0 | q4_0 | q4_k_m; default f16"),
                    new OptionParser.Option("name", VALUE, "NAME", false,
                            "the model name written into the file (general.name); default: the file's name")),
            false);

    @Override
    public String summary() {
        return "write a model (with a LoRA adapter merged in) as a GGUF file for llama.cpp and Ollama";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed p = PARSER.parse(args);
        if (p.help()) {
            PARSER.printHelp(out);
            return 0;
        }
        if (!p.has("output")) {
            throw new UsageException("--output FILE.gguf is required");
        }
        if (!p.has("model") && !p.has("adapter")) {
            throw new UsageException("--model NAME or --adapter DIR is required");
        }
        Path output = Path.of(p.string("output", null));
        if (Files.isDirectory(output)) {
            throw new UsageException(p.origin("output") + ": " + output + " is a folder; give the file to write, e.g. "
                    + output.resolve("model.gguf"));
        }
        GgufFileType type;
        try {
            type = GgufFileType.parse(p.string("type", "f16"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(p.origin("type") + ": " + e.getMessage());
        }
        Path adapter = p.has("adapter") ? Path.of(p.string("adapter", null)) : null;
        Path base = HubModels.locate(p.has("model") ? p.string("model", null) : baseOf(adapter),
                HubSettings.fromEnvironment(), new ConsoleDownloadProgress(out, out == System.out
                        && RunReport.isTerminal()));
        String fileName = output.getFileName().toString();
        String name = p.string("name", fileName.endsWith(".gguf") ? fileName.substring(0, fileName.length() - 5)
                : fileName);
        Path tokenizerDir = Files.isRegularFile(base.resolve("tokenizer.json")) || adapter == null ? base : adapter;
        Tokenizer tokenizer = Tokenizer.fromDirectory(tokenizerDir);

        LlamaCppVocabulary vocab;
        try (LoadedModel loaded = ModelLoader.load(base, LoadOptions.asStored()); Arena arena = Arena.ofShared()) {
            LoraAdapters lora = adapter == null ? null : AdapterFiles.load(adapter, loaded.config(), arena);
            vocab = LlamaCppVocabulary.of(tokenizer, loaded.config().vocabSize(),
                    loaded.config().bosTokenId(), loaded.config().eosTokenIds());
            GgufExporter exporter = new GgufExporter(loaded.config(), loaded.source(), lora, vocab, type);
            List<GgufExporter.Planned> plan = exporter.plan();
            out.printf(Locale.ROOT, "exporting %s%s as %s: %s%n", base, adapter == null ? "" : " + adapter " + adapter,
                    type.cliName(), typeCounts(plan));
            exporter.notes().forEach(note -> out.println("note: " + note));
            ProgressLine progress = new ProgressLine(out);
            exporter.write(output, name, progress::update);
            progress.done();
        }
        Path modelfile = output.toAbsolutePath().getParent().resolve("Modelfile");
        Files.writeString(modelfile, modelfile(tokenizer, vocab, output.getFileName().toString()), StandardCharsets.UTF_8);
        out.printf(Locale.ROOT, "wrote %s (%.1f MiB) and %s%n", output, Files.size(output) / (1024.0 * 1024.0),
                modelfile);
        return 0;
    }

    private static String modelfile(Tokenizer tokenizer, LlamaCppVocabulary vocab, String ggufName) {
        String template = tokenizer.config().chatTemplate();
        Set<String> specials = new LinkedHashSet<>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.isSpecial(id)) {
                specials.add(tokenizer.idToToken(id));
            }
        }
        return OllamaModelfile.of(ggufName, template == null ? null : ChatTemplate.of(tokenizer, null),
                vocab.bosId() < 0 ? null : tokenizer.idToToken(vocab.bosId()), vocab.addBos(),
                vocab.eosId() < 0 ? null : tokenizer.idToToken(vocab.eosId()), specials);
    }

    /** E.g. "65 f32, 155 q4_K, 37 q6_K". */
    private static String typeCounts(List<GgufExporter.Planned> plan) {
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (GgufExporter.Planned t : plan) {
            counts.merge(t.info().type(), 1, Integer::sum);
        }
        StringBuilder s = new StringBuilder();
        counts.forEach((t, n) -> s.append(s.isEmpty() ? "" : ", ").append(n).append(" ").append(t.displayName()));
        return plan.size() + " tensors (" + s + ")";
    }

    /** The base model the adapter names: a folder here or a Hub id. */
    private static String baseOf(Path adapter) throws IOException {
        String named = PeftAdapterFiles.read(adapter).config().baseModelNameOrPath();
        if (named == null || named.isBlank()) {
            throw new UsageException("--model is required: " + adapter + " does not name its base model");
        }
        if (!Files.isDirectory(Path.of(named)) && !RepoId.looksLikeRepo(named)) {
            throw new UsageException("--model is required: " + adapter + " names its base model '" + named
                    + "', which is neither a folder here nor a Hub id");
        }
        return named;
    }

    /** One progress line, rewritten in place at most every half second. */
    private static final class ProgressLine {
        private final PrintStream out;
        private long lastPrint;

        ProgressLine(PrintStream out) {
            this.out = out;
        }

        void update(int index, int count, org.jtune.io.GgufTensorInfo info, long done, long total) {
            long now = System.nanoTime();
            if (index + 1 < count && now - lastPrint < 500_000_000L) {
                return;
            }
            lastPrint = now;
            out.printf(Locale.ROOT, "\r  %3.0f%%  %d/%d tensors  %s (%s)          ", 100.0 * done / total, index + 1,
                    count, info.name(), info.type().displayName());
            out.flush();
        }

        void done() {
            out.println();
        }
    }
}

package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.api.InferenceModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.generate.ChatPrompt;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationDefaults;
import org.jtune.io.hub.ConsoleDownloadProgress;
import org.jtune.io.hub.HubModels;
import org.jtune.io.hub.HubSettings;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelLoader;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A model loaded for {@code chat}, {@code generate} or {@code serve}: the base model (4-bit if asked), the adapter
 * if one is given, the inference model on the engine {@code DecodeEngines} picks, and the model's generation
 * settings. Says what it loaded.
 */
final class InferenceSession implements AutoCloseable {
    /** The context when the model allows more: a float32 cache of 4096 tokens of an 8B model is 1 GiB. */
    static final int DEFAULT_CONTEXT = 4096;

    private final Path modelDir;
    private final Pretrained pretrained;
    private final PeftModel peft;
    private final InferenceModel inference;
    private final GenerationConfig defaults;
    private final InferenceOptions.ModelChoice choice;

    private InferenceSession(Path modelDir, Pretrained pretrained, PeftModel peft, InferenceModel inference,
                             GenerationConfig defaults, InferenceOptions.ModelChoice choice) {
        this.modelDir = modelDir;
        this.pretrained = pretrained;
        this.peft = peft;
        this.inference = inference;
        this.defaults = defaults;
        this.choice = choice;
    }

    static InferenceSession open(InferenceOptions.ModelChoice choice, int maxBatchSize, PrintStream out)
            throws IOException {
        Path modelDir = HubModels.locate(choice.model() != null ? choice.model() : ModelFiles.baseOf(choice.adapter()),
                HubSettings.fromEnvironment(), new ConsoleDownloadProgress(out, out == System.out
                        && RunReport.isTerminal()));
        ModelConfig config = ModelConfig.load(modelDir.resolve(ModelLoader.CONFIG_FILE));
        int context = choice.maxSeqLength() != null ? choice.maxSeqLength()
                : Math.min(config.maxPositionEmbeddings(), DEFAULT_CONTEXT);
        if (context > config.maxPositionEmbeddings()) {
            throw new UsageException("--max-seq-length " + context + " exceeds the model's max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        Pretrained pretrained = FastLanguageModel.fromPretrained(modelDir, context, choice.loadIn4bit());
        PeftModel peft = null;
        try {
            peft = choice.adapter() == null ? null : PeftModel.fromAdapter(pretrained.model(), choice.adapter());
            Tokenizer tokenizer = pretrained.tokenizer();
            InferenceModel inference = peft != null ? FastLanguageModel.forInference(peft, tokenizer, maxBatchSize)
                    : FastLanguageModel.forInference(pretrained.model(), tokenizer, maxBatchSize);
            GenerationConfig defaults = GenerationDefaults.read(modelDir, config, tokenizer);
            InferenceSession session = new InferenceSession(modelDir, pretrained, peft, inference, defaults, choice);
            session.describe(out);
            return session;
        } catch (IOException | RuntimeException e) {
            if (peft != null) {
                peft.close();
            }
            pretrained.close();
            throw e;
        }
    }

    private void describe(PrintStream out) {
        ModelConfig c = pretrained.model().config();
        out.printf(Locale.ROOT, "model:   %s (%s, %d layers, hidden size %d, %s)%n", modelDir, c.architecture(),
                c.numLayers(), c.hiddenSize(), pretrained.quantized() ? "4-bit NF4 projections" : "16/32-bit weights");
        if (peft != null) {
            out.printf(Locale.ROOT, "adapter: %s (r %d, applied on the fly)%n", choice.adapter(),
                    peft.adapters().config().rank());
        }
        out.printf(Locale.ROOT, "engine:  %s; %d sequence(s) of up to %d tokens%n", inference.engineDescription(),
                inference.maxBatchSize(), inference.contextLength());
    }

    InferenceModel model() {
        return inference;
    }

    Tokenizer tokenizer() {
        return pretrained.tokenizer();
    }

    /** The model's generation settings (generation_config.json over transformers' defaults). */
    GenerationConfig defaults() {
        return defaults;
    }

    /** The name clients see: the model folder's name, with the adapter's where there is one. */
    String name() {
        String base = modelDir.toAbsolutePath().normalize().getFileName().toString();
        return choice.adapter() == null ? base
                : base + "+" + choice.adapter().toAbsolutePath().normalize().getFileName();
    }

    /** Renders conversations with the tokenizer's template, or --chat-template where it ships none. */
    ChatPrompt chatPrompt() {
        try {
            return new ChatPrompt(pretrained.tokenizer(), choice.template());
        } catch (TokenizerException e) {
            throw new UsageException(e.getMessage() + ": give --chat-template llama2|llama3|mistral|chatml");
        }
    }

    @Override
    public void close() {
        inference.close();
        if (peft != null) {
            peft.close();
        }
        pretrained.close();
    }
}

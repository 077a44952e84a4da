package org.jtune.api;

import org.jtune.io.hub.ConsoleDownloadProgress;
import org.jtune.io.hub.HubModels;
import org.jtune.io.hub.HubSettings;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelLoader;
import org.jtune.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * unsloth-style entry point: loads a model folder with its tokenizer, and adds LoRA adapters to a base model.
 * Adapter defaults as unsloth's notebooks: r 16, alpha 16, dropout 0, all seven projections, random state 3407,
 * no rsLoRA. Training runs where the trainers' {@code Backend} chooses; {@link #forInference} readies a model to
 * generate.
 */
public final class FastLanguageModel {
    /** All seven projections of a Llama/Mistral layer. */
    public static final List<String> ALL_PROJECTIONS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");

    /** The tokenizer file a model folder must have (the Hugging Face fast tokenizer). */
    public static final String TOKENIZER_FILE = "tokenizer.json";

    static {
        LogLines.install();
    }

    private FastLanguageModel() {}

    /**
     * unsloth's {@code from_pretrained} by name: {@code modelName} is a model folder, or a Hub id
     * ({@code "unsloth/Llama-3.2-1B-Instruct"}, {@code "org/name@revision"}) taken from the Hugging Face cache that
     * Python shares, or downloaded into it where it is missing (the environment variables of huggingface_hub apply:
     * {@code HF_TOKEN}, {@code HF_HOME}, {@code HF_HUB_CACHE}, {@code HF_HUB_OFFLINE}, {@code HF_ENDPOINT}). Download
     * progress goes to standard error.
     */
    public static Pretrained fromPretrained(String modelName, int maxSeqLength, boolean loadIn4bit)
            throws IOException {
        java.io.Console console = System.console();
        Path folder = HubModels.locate(modelName, HubSettings.fromEnvironment(),
                new ConsoleDownloadProgress(System.err, console != null && console.isTerminal()));
        return fromPretrained(folder, maxSeqLength, loadIn4bit);
    }

    /**
     * unsloth's {@code from_pretrained}: the model in a Hugging Face folder ({@code config.json}, safetensors
     * weights, {@code tokenizer.json}) and its tokenizer. With {@code loadIn4bit} the seven projections of every
     * layer are quantized to NF4 on load (QLoRA); folders already in the bnb-4bit layout load as 4-bit regardless.
     *
     * @param maxSeqLength the longest sequence training will use (at most the model's max_position_embeddings)
     */
    public static Pretrained fromPretrained(Path folder, int maxSeqLength, boolean loadIn4bit) throws IOException {
        if (!Files.exists(folder)) {
            throw new NoSuchFileException(folder.toString(), null, "no such model folder");
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(folder + " is a file; give the model's folder (with config.json, "
                    + "the *.safetensors weights and tokenizer.json)");
        }
        if (!Files.isRegularFile(folder.resolve(ModelLoader.CONFIG_FILE))) {
            throw new IllegalArgumentException(folder + " is not a model folder: it has no " + ModelLoader.CONFIG_FILE);
        }
        if (!Files.isRegularFile(folder.resolve(TOKENIZER_FILE))) {
            throw new IllegalArgumentException(folder + " has no " + TOKENIZER_FILE + ": the model's Hugging Face "
                    + "tokenizer file must be in its folder (tokenizer.model alone is not read)");
        }
        Tokenizer tokenizer = Tokenizer.fromDirectory(folder);
        LoadedModel loaded = ModelLoader.load(folder, loadIn4bit ? LoadOptions.in4bit() : LoadOptions.asStored());
        try {
            if (tokenizer.vocabSize() > loaded.config().vocabSize()) {
                throw new IllegalArgumentException(folder + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's vocab_size is " + loaded.config().vocabSize());
            }
            LanguageModel model = new LanguageModel(loaded.config(), loaded.source(), loaded.weights(), maxSeqLength,
                    loaded.configJson());
            return new Pretrained(folder, model, tokenizer, loaded);
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    /** Sequences an inference model decodes together unless told otherwise. */
    public static final int DEFAULT_INFERENCE_BATCH = 4;

    /**
     * unsloth's {@code for_inference}: the model with its adapters (applied on the fly), ready to generate with a
     * key/value cache of {@link #DEFAULT_INFERENCE_BATCH} sequences of up to its max_seq_length tokens. The tokenizer
     * makes text and chat available; without one (null) it generates token ids.
     */
    public static InferenceModel forInference(PeftModel model, Tokenizer tokenizer) {
        return forInference(model, tokenizer, DEFAULT_INFERENCE_BATCH);
    }

    /** As {@link #forInference(PeftModel, Tokenizer)}, for token ids only. */
    public static InferenceModel forInference(PeftModel model) {
        return forInference(model, null);
    }

    /** As {@link #forInference(PeftModel, Tokenizer)} with room for {@code maxBatchSize} sequences at once. */
    public static InferenceModel forInference(PeftModel model, Tokenizer tokenizer, int maxBatchSize) {
        return new InferenceModel(model.base(), model.adapters(), tokenizer, maxBatchSize);
    }

    /** The base model alone (or a merged one), ready to generate; see {@link #forInference(PeftModel, Tokenizer)}. */
    public static InferenceModel forInference(LanguageModel model, Tokenizer tokenizer) {
        return forInference(model, tokenizer, DEFAULT_INFERENCE_BATCH);
    }

    /** As {@link #forInference(LanguageModel, Tokenizer)}, for token ids only. */
    public static InferenceModel forInference(LanguageModel model) {
        return forInference(model, null);
    }

    /** As {@link #forInference(LanguageModel, Tokenizer)} with room for {@code maxBatchSize} sequences at once. */
    public static InferenceModel forInference(LanguageModel model, Tokenizer tokenizer, int maxBatchSize) {
        return new InferenceModel(model, null, tokenizer, maxBatchSize);
    }

    /** New LoRA adapters with unsloth's defaults ({@link LoraOptions#defaults()}). */
    public static PeftModel getPeftModel(LanguageModel model) {
        return getPeftModel(model, LoraOptions.defaults());
    }

    /** New LoRA adapters as {@code options} name them, initialised as PEFT does from their random state. */
    public static PeftModel getPeftModel(LanguageModel model, LoraOptions options) {
        return getPeftModel(model, options.r(), options.targetModules(), options.loraAlpha(), options.loraDropout(),
                options.randomState(), options.useRslora());
    }

    /**
     * New LoRA adapters on {@code targetModules} of every layer, initialised as PEFT does from {@code randomState}.
     *
     * @param loraDropout must be 0: dropout on the LoRA input is not supported
     */
    public static PeftModel getPeftModel(LanguageModel model, int r, List<String> targetModules, double loraAlpha,
                                         double loraDropout, long randomState, boolean useRslora) {
        if (loraDropout != 0) {
            throw new IllegalArgumentException("lora_dropout " + loraDropout + " is not supported (only 0)");
        }
        if (targetModules.isEmpty()) {
            throw new IllegalArgumentException("target_modules is empty");
        }
        Set<LoraTarget> targets = EnumSet.noneOf(LoraTarget.class);
        for (String name : targetModules) {
            targets.add(LoraTarget.fromModuleName(name));
        }
        return PeftModel.create(model, new LoraConfig(r, loraAlpha, useRslora, targets), randomState);
    }
}

package org.jtune.api;

import org.jtune.generate.BatchScheduler;
import org.jtune.generate.ChatPrompt;
import org.jtune.generate.Generation;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationDefaults;
import org.jtune.generate.GenerationResult;
import org.jtune.generate.TextGenerator;
import org.jtune.model.DecodeEngine;
import org.jtune.model.LoraAdapters;
import org.jtune.model.backend.DecodeEngines;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A model ready to generate ({@link FastLanguageModel#forInference}): a decode engine with a key/value cache for a
 * few sequences, and a scheduler that batches the requests. Generation takes token ids, or chat messages rendered
 * with the tokenizer's chat template, and a {@link GenerationConfig}. Adapters are applied on the fly and read at
 * every step, so a model that goes on training generates with its latest weights (for the base model alone, make
 * one from the {@link LanguageModel}). Thread-safe; close it to free
 * the cache.
 */
public final class InferenceModel implements TextGenerator, AutoCloseable {
    private final LanguageModel base;
    private final Tokenizer tokenizer;
    private final DecodeEngine engine;
    private final String engineDescription;
    private final BatchScheduler scheduler;

    InferenceModel(LanguageModel base, LoraAdapters adapters, Tokenizer tokenizer, int maxBatchSize) {
        this.base = base;
        this.tokenizer = tokenizer;
        DecodeEngines.Opened opened = DecodeEngines.open(base.config(), base.frozen(), adapters, maxBatchSize,
                base.maxSeqLength());
        this.engine = opened.engine();
        this.engineDescription = opened.description();
        this.scheduler = new BatchScheduler(engine, tokenizer);
    }

    /** Where it runs, e.g. "CPU, 16 cores, Vector API 512-bit, key/value cache 64 MiB float32". */
    public String engineDescription() {
        return engineDescription;
    }

    /**
     * transformers' defaults, stopping at the end-of-sequence ids of the model's config.json and its tokenizer
     * (see {@link GenerationDefaults} for a folder's generation_config.json).
     */
    public GenerationConfig defaultConfig() {
        try {
            return GenerationDefaults.read(null, base.config(), tokenizer);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // no file is read without a folder
        }
    }

    /**
     * Queues a prompt and returns at once: the caller follows the text through {@code onText} (called on the decode
     * thread; keep it short) and may cancel. Prompts queued together are decoded together.
     */
    @Override
    public Generation submit(int[] promptIds, GenerationConfig config, Consumer<String> onText) {
        return scheduler.submit(promptIds, config, onText);
    }

    /** Most sequences decoded together. */
    public int maxBatchSize() {
        return engine.maxSequences();
    }

    /** Most tokens per sequence, prompt included. */
    @Override
    public int contextLength() {
        return engine.capacity();
    }

    /** The continuation of a prompt of token ids. */
    public GenerationResult generate(int[] promptIds, GenerationConfig config) {
        return scheduler.submit(promptIds, config, null).join();
    }

    /** The continuations of several prompts, decoded together; in the order of the prompts. */
    public List<GenerationResult> generate(List<int[]> prompts, GenerationConfig config) {
        List<Generation> running = new ArrayList<>();
        for (int[] p : prompts) {
            running.add(scheduler.submit(p, config, null));
        }
        return running.stream().map(Generation::join).toList();
    }

    /**
     * The assistant's answer to a conversation, rendered with the tokenizer's chat template (its generation prompt
     * added); {@code onText} (or null) sees the text as it is generated.
     */
    public GenerationResult chat(List<ChatMessage> messages, GenerationConfig config, Consumer<String> onText) {
        return scheduler.submit(chatPrompt(messages), config, onText).join();
    }

    /** The token ids of a conversation with the generation prompt, as the model sees it. */
    public int[] chatPrompt(List<ChatMessage> messages) {
        if (tokenizer == null) {
            throw new IllegalStateException("chat needs the tokenizer: use FastLanguageModel.forInference(model, "
                    + "tokenizer)");
        }
        return new ChatPrompt(tokenizer, null).encode(messages);
    }

    @Override
    public void close() {
        scheduler.close();
        engine.close();
    }
}

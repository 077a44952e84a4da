package org.jtune.api;

import org.jtune.model.LoadedModel;
import org.jtune.model.MemoryReport;
import org.jtune.tokenizer.Tokenizer;

import java.nio.file.Path;

/**
 * What {@link FastLanguageModel#fromPretrained} loads from a model folder: the model and its tokenizer. The model's
 * weights are views of the mapped files, valid until {@link #close}.
 */
public final class Pretrained implements AutoCloseable {
    private final Path folder;
    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private final LoadedModel loaded;

    Pretrained(Path folder, LanguageModel model, Tokenizer tokenizer, LoadedModel loaded) {
        this.folder = folder;
        this.model = model;
        this.tokenizer = tokenizer;
        this.loaded = loaded;
    }

    /** The folder the model was read from. */
    public Path folder() {
        return folder;
    }

    public LanguageModel model() {
        return model;
    }

    /**
     * How to read SFT data for this model: the defaults, with the maximum length the model was loaded for, so that
     * the length is given once ({@code fromPretrained(name, 2048, ...)}) and data and model agree.
     */
    public org.jtune.data.SftOptions sftOptions() {
        return org.jtune.data.SftOptions.defaults().withMaxLength(model.maxSeqLength());
    }

    /** How to read preference pairs for this model: the defaults, with the model's maximum length. */
    public org.jtune.data.PreferenceOptions preferenceOptions() {
        return org.jtune.data.PreferenceOptions.defaults().withMaxLength(model.maxSeqLength());
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** What the frozen weights hold (NF4 and dense bytes). */
    public MemoryReport memory() {
        return loaded.memory();
    }

    /** Whether the projections are held in 4-bit NF4 (quantized on load, or stored so). */
    public boolean quantized() {
        return loaded.quantization() != null;
    }

    /** Unmaps the files and frees NF4 weights made on load; the model must not be used afterwards. */
    @Override
    public void close() {
        loaded.close();
    }
}

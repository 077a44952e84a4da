package org.jtune.api;

import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.tensor.DType;
import org.jtune.train.AdapterFiles;
import org.jtune.train.MergedModelWriter;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/** A base model with trainable LoRA adapters, which it owns; save the adapters alone or merged into the weights. */
public final class PeftModel implements AutoCloseable {
    private final LanguageModel base;
    private final LoraAdapters adapters;
    private final Arena arena;

    PeftModel(LanguageModel base, LoraAdapters adapters, Arena arena) {
        this.base = base;
        this.adapters = adapters;
        this.arena = arena;
    }

    /** New adapters for {@code base} with PEFT's initialisation (A uniform in ±1/sqrt(in), B zero). */
    static PeftModel create(LanguageModel base, LoraConfig config, long seed) {
        Arena arena = Arena.ofShared();
        try {
            LoraAdapters adapters = new LoraAdapters(base.config(), config, arena);
            adapters.initPeftDefault(seed);
            return new PeftModel(base, adapters, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The adapter in a PEFT folder (made by PEFT or by {@link #saveAdapter}), to train on or to merge. */
    public static PeftModel fromAdapter(LanguageModel base, Path adapterFolder) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return new PeftModel(base, AdapterFiles.load(adapterFolder, base.config(), arena), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public LanguageModel base() {
        return base;
    }

    public LoraAdapters adapters() {
        return adapters;
    }

    /** Writes the adapters as a PEFT adapter folder (unsloth's and PEFT's {@code save_pretrained}). */
    public void saveAdapter(Path folder) throws IOException {
        saveAdapter(folder, null);
    }

    /** As {@link #saveAdapter(Path)}, naming the base model in {@code base_model_name_or_path} (null: none). */
    public void saveAdapter(Path folder, String baseModelNameOrPath) throws IOException {
        AdapterFiles.save(adapters, base.config(), folder, baseModelNameOrPath);
    }

    /**
     * Writes a transformers checkpoint with the adapters merged into the weights, in {@code dtype} (BF16 or F16 for
     * unsloth's {@code save_pretrained_merged(save_method="merged_16bit")}, F32 for full precision).
     */
    public void saveMerged(Path folder, DType dtype) throws IOException {
        for (int layer = 0; layer < base.config().numLayers(); layer++) {
            for (LoraTarget t : LoraTarget.values()) {
                String module = ModelWeights.layerPrefix(layer) + t.modulePath();
                if (base.weights().quantized(module) != null) {
                    throw new IllegalArgumentException(base.weights().description() + " stores " + module
                            + " in 4-bit: merging needs the 16-bit base model (merge into the model the 4-bit "
                            + "checkpoint was made from)");
                }
            }
        }
        MergedModelWriter.write(folder, base.config(), base.weights(), adapters, dtype, base.configJson(),
                SafetensorsCheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
    }

    /** Frees the adapters. */
    @Override
    public void close() {
        arena.close();
    }
}

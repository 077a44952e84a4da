package org.jtune.api;

import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.model.Batch;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.LlamaModel;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.train.AdapterFiles;
import org.jtune.train.MergedModelWriter;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;

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
                String module = LlamaWeights.layerPrefix(layer) + t.modulePath();
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

    /**
     * Greedy decoding: appends the most likely next token until {@code stopId} comes (left out of the result),
     * {@code maxNewTokens} are made, or the sequence reaches the model's max_seq_length. Each token runs the model
     * over the whole sequence so far on the CPU engine (no key/value cache): fine for short samples, slow for long
     * ones.
     *
     * @return the new token ids
     */
    public int[] generate(int[] promptIds, int maxNewTokens, int stopId) {
        int limit = Math.min(base.maxSeqLength(), promptIds.length + maxNewTokens);
        if (promptIds.length == 0 || promptIds.length >= base.maxSeqLength()) {
            throw new IllegalArgumentException("the prompt has " + promptIds.length + " tokens; generation needs 1 to "
                    + (base.maxSeqLength() - 1) + " (max_seq_length " + base.maxSeqLength() + ")");
        }
        int vocab = base.config().vocabSize();
        int[] sequence = Arrays.copyOf(promptIds, limit);
        int length = promptIds.length;
        try (LlamaModel model = new LlamaModel(base.config(), base.frozen(), adapters, new CpuOps(), 1, limit, false);
             Arena arena = Arena.ofShared()) {
            Tensor logits = Tensor.f32(arena, limit, vocab);
            while (length < limit) {
                int[] tokens = Arrays.copyOf(sequence, length);
                int[] labels = new int[length];
                Arrays.fill(labels, Batch.IGNORE_INDEX);
                model.forward(Batch.of(new int[][] {tokens}, new int[][] {labels}), logits.rows(0, length));
                int next = argmax(logits, (long) (length - 1) * vocab, vocab);
                if (next == stopId) {
                    break;
                }
                sequence[length++] = next;
            }
        }
        return Arrays.copyOfRange(sequence, promptIds.length, length);
    }

    private static int argmax(Tensor t, long offset, int count) {
        int best = 0;
        for (int i = 0; i < count; i++) {
            if (Float.isNaN(t.get(offset + i))) {
                throw new IllegalStateException("the model computed a NaN logit (token " + i + ")");
            }
            if (t.get(offset + i) > t.get(offset + best)) {
                best = i;
            }
        }
        return best;
    }

    /** Frees the adapters. */
    @Override
    public void close() {
        arena.close();
    }
}

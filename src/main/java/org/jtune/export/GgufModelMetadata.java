package org.jtune.export;

import org.jtune.io.GgufMetadata;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeScaling;
import org.jtune.tokenizer.LlamaCppVocabulary;

/**
 * The metadata of a GGUF file with the keys llama.cpp's converter writes for the model's architecture
 * ({@link GgufArchitecture}): the general keys, the hyperparameters ({@code llama.*}, {@code qwen2.*}, ...) and the
 * tokenizer ({@code tokenizer.*}).
 */
final class GgufModelMetadata {
    /** GGML_QNT_VERSION: the version of the quantized block formats. */
    private static final int QUANTIZATION_VERSION = 2;
    /** The sliding-window period llama.cpp's gemma3 assumes when the file names none. */
    static final int GEMMA3_DEFAULT_PATTERN = 6;

    private GgufModelMetadata() {}

    static GgufMetadata of(ModelConfig c, LlamaCppVocabulary vocab, GgufFileType fileType, String name) {
        GgufArchitecture arch = GgufArchitecture.of(c);
        GgufMetadata m = new GgufMetadata();
        m.putString("general.architecture", arch.ggufName());
        m.putString("general.type", "model");
        m.putString("general.name", name);
        m.putUInt32("general.file_type", fileType.llamaFileType());
        if (fileType.quantized()) {
            m.putUInt32("general.quantization_version", QUANTIZATION_VERSION);
        }
        if (arch == GgufArchitecture.LLAMA) {
            llama(m, c);
        } else {
            family(m, arch, c);
        }
        tokenizer(m, vocab);
        return m;
    }

    private static void llama(GgufMetadata m, ModelConfig c) {
        m.putUInt32("llama.block_count", c.numLayers());
        m.putUInt32("llama.context_length", c.maxPositionEmbeddings());
        m.putUInt32("llama.embedding_length", c.hiddenSize());
        m.putUInt32("llama.feed_forward_length", c.intermediateSize());
        m.putUInt32("llama.attention.head_count", c.numHeads());
        m.putUInt32("llama.attention.head_count_kv", c.numKvHeads());
        m.putUInt32("llama.attention.key_length", c.headDim());
        m.putUInt32("llama.attention.value_length", c.headDim());
        m.putFloat32("llama.attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
        m.putFloat32("llama.rope.freq_base", (float) c.ropeTheta());
        m.putUInt32("llama.rope.dimension_count", c.headDim());
        linearRopeScaling(m, GgufArchitecture.LLAMA, c);
        if (c.slidingWindow() > 0) {
            m.putUInt32("llama.attention.sliding_window", c.slidingWindow());
        }
        m.putUInt32("llama.vocab_size", c.vocabSize());
    }

    /**
     * Qwen2, Qwen3 and Gemma 3, with the keys the converter's TextModel writes for them (no vocab_size or
     * rope.dimension_count: llama.cpp takes the vocabulary's size and the head size), and Gemma 3's sliding window,
     * its period where it is not llama.cpp's default, and the RoPE base of the sliding layers.
     */
    private static void family(GgufMetadata m, GgufArchitecture arch, ModelConfig c) {
        m.putUInt32(arch.key("block_count"), c.numLayers());
        m.putUInt32(arch.key("context_length"), c.maxPositionEmbeddings());
        m.putUInt32(arch.key("embedding_length"), c.hiddenSize());
        m.putUInt32(arch.key("feed_forward_length"), c.intermediateSize());
        m.putUInt32(arch.key("attention.head_count"), c.numHeads());
        m.putUInt32(arch.key("attention.head_count_kv"), c.numKvHeads());
        m.putUInt32(arch.key("attention.key_length"), c.headDim());
        m.putUInt32(arch.key("attention.value_length"), c.headDim());
        m.putFloat32(arch.key("attention.layer_norm_rms_epsilon"), (float) c.rmsNormEps());
        m.putFloat32(arch.key("rope.freq_base"), (float) c.ropeTheta());
        linearRopeScaling(m, arch, c);
        if (arch == GgufArchitecture.GEMMA3) {
            int pattern = GemmaLayerPattern.period(c);
            if (pattern != GemmaLayerPattern.NO_SLIDING_LAYERS) {
                m.putUInt32(arch.key("attention.sliding_window"), c.slidingWindow());
                if (pattern != GEMMA3_DEFAULT_PATTERN) {
                    m.putUInt32(arch.key("attention.sliding_window_pattern"), pattern);
                }
            }
            if (c.design().localRopeTheta() > 0) {
                m.putFloat32(arch.key("rope.freq_base_swa"), (float) c.design().localRopeTheta());
            }
        }
    }

    private static void linearRopeScaling(GgufMetadata m, GgufArchitecture arch, ModelConfig c) {
        if (c.ropeScaling().type() == RopeScaling.Type.LINEAR) {
            m.putString(arch.key("rope.scaling.type"), "linear");
            m.putFloat32(arch.key("rope.scaling.factor"), (float) c.ropeScaling().factor());
        }
    }

    private static void tokenizer(GgufMetadata m, LlamaCppVocabulary v) {
        m.putString("tokenizer.ggml.model", v.model());
        if (v.pre() != null) {
            m.putString("tokenizer.ggml.pre", v.pre());
        }
        m.putStringArray("tokenizer.ggml.tokens", v.tokens());
        if (v.scores() != null) {
            m.putFloat32Array("tokenizer.ggml.scores", v.scores());
        }
        m.putInt32Array("tokenizer.ggml.token_type", v.types());
        if (!v.merges().isEmpty()) {
            m.putStringArray("tokenizer.ggml.merges", v.merges());
        }
        putId(m, "tokenizer.ggml.bos_token_id", v.bosId());
        putId(m, "tokenizer.ggml.eos_token_id", v.eosId());
        putId(m, "tokenizer.ggml.unknown_token_id", v.unkId());
        putId(m, "tokenizer.ggml.padding_token_id", v.padId());
        m.putBool("tokenizer.ggml.add_bos_token", v.addBos());
        m.putBool("tokenizer.ggml.add_eos_token", v.addEos());
        if (v.model().equals("llama")) {
            m.putBool("tokenizer.ggml.add_space_prefix", v.addSpacePrefix());
        }
        if (v.chatTemplate() != null) {
            m.putString("tokenizer.chat_template", v.chatTemplate());
        }
    }

    private static void putId(GgufMetadata m, String key, int id) {
        if (id >= 0) {
            m.putUInt32(key, id);
        }
    }
}

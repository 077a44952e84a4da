package org.jtune.export;

import org.jtune.io.GgufMetadata;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeScaling;
import org.jtune.tokenizer.LlamaCppVocabulary;

/**
 * The metadata of a {@code llama}-architecture GGUF file with the keys llama.cpp's converter writes: the general
 * keys, the hyperparameters ({@code llama.*}) and the tokenizer ({@code tokenizer.*}).
 */
final class LlamaGgufMetadata {
    /** GGML_QNT_VERSION: the version of the quantized block formats. */
    private static final int QUANTIZATION_VERSION = 2;

    private LlamaGgufMetadata() {}

    static GgufMetadata of(ModelConfig c, LlamaCppVocabulary vocab, GgufFileType fileType, String name) {
        GgufMetadata m = new GgufMetadata();
        m.putString("general.architecture", "llama");
        m.putString("general.type", "model");
        m.putString("general.name", name);
        m.putUInt32("general.file_type", fileType.llamaFileType());
        if (fileType.quantized()) {
            m.putUInt32("general.quantization_version", QUANTIZATION_VERSION);
        }
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
        if (c.ropeScaling().type() == RopeScaling.Type.LINEAR) {
            m.putString("llama.rope.scaling.type", "linear");
            m.putFloat32("llama.rope.scaling.factor", (float) c.ropeScaling().factor());
        }
        if (c.slidingWindow() > 0) {
            m.putUInt32("llama.attention.sliding_window", c.slidingWindow());
        }
        m.putUInt32("llama.vocab_size", c.vocabSize());
        tokenizer(m, vocab);
        return m;
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

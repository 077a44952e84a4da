package org.jtune.model;

import org.jtune.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fields of a Hugging Face {@code config.json} (Llama, Mistral, Qwen2, Qwen3, Gemma 3; transformers v4 or v5) that change the math.
 *
 * @param slidingWindow Mistral attention window in tokens; 0 when off
 * @param bosTokenId    -1 when absent
 * @param dtype         storage type of the unquantized weights ({@code dtype}/{@code torch_dtype}); null if unset
 * @param design        where the family's layer departs from Llama's ({@link LayerDesign#LLAMA} for Llama, Mistral)
 */
public record ModelConfig(
        String architecture, String modelType,
        int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim,
        double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
        int slidingWindow, boolean tieWordEmbeddings, boolean attentionBias, boolean mlpBias,
        int bosTokenId, List<Integer> eosTokenIds, DType dtype, LayerDesign design) {

    /** Far above the bases in use (1e4 to 1e8); larger values are not a model, but a corrupted file. */
    static final double MAX_ROPE_THETA = 1e12;

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("num_key_value_heads", numKvHeads);
        requirePositive("head_dim", headDim);
        requirePositive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new ModelConfigException("num_attention_heads (" + numHeads
                    + ") is not a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new ModelConfigException("head_dim must be even for rotary embeddings, got " + headDim);
        }
        if (!(rmsNormEps > 0 && rmsNormEps < 1)) {
            throw new ModelConfigException("rms_norm_eps must be a small positive number (below 1; models use "
                    + "1e-5 or 1e-6), got " + rmsNormEps);
        }
        if (!(ropeTheta > 0 && ropeTheta <= MAX_ROPE_THETA)) {
            throw new ModelConfigException("rope_theta must be a positive number up to " + MAX_ROPE_THETA + ", got "
                    + ropeTheta);
        }
        if (slidingWindow < 0) {
            throw new ModelConfigException("sliding_window must be positive or null, got " + slidingWindow);
        }
        if (!design.slidingLayers().isEmpty() && design.slidingLayers().size() != numLayers) {
            throw new ModelConfigException("layer_types lists " + design.slidingLayers().size() + " layers, but "
                    + "num_hidden_layers is " + numLayers);
        }
        if (ropeScaling.type() == RopeScaling.Type.DYNAMIC && headDim <= 2) {
            throw new ModelConfigException("dynamic rope scaling needs head_dim > 2, got " + headDim);
        }
    }

    /** A Llama or Mistral config ({@link LayerDesign#LLAMA}). */
    public ModelConfig(String architecture, String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                       int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps, double ropeTheta,
                       RopeScaling ropeScaling, int maxPositionEmbeddings, int slidingWindow,
                       boolean tieWordEmbeddings, boolean attentionBias, boolean mlpBias, int bosTokenId,
                       List<Integer> eosTokenIds, DType dtype) {
        this(architecture, modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, slidingWindow, tieWordEmbeddings,
                attentionBias, mlpBias, bosTokenId, eosTokenIds, dtype, LayerDesign.LLAMA);
    }

    private static void requirePositive(String field, int value) {
        if (value <= 0) {
            throw new ModelConfigException(field + " must be positive, got " + value);
        }
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Width of the q projection output, heads * head_dim. */
    public int qWidth() {
        return numHeads * headDim;
    }

    /** Width of the k and v projection outputs, kv heads * head_dim. */
    public int kvWidth() {
        return numKvHeads * headDim;
    }

    /** The attention window of a layer in tokens; 0 where the layer attends to every earlier token. */
    public int windowOf(int layer) {
        List<Boolean> sliding = design.slidingLayers();
        return sliding.isEmpty() || sliding.get(layer) ? slidingWindow : 0;
    }

    /** Whether a layer uses the local RoPE base ({@link LayerDesign#localRopeTheta()}) rather than the global one. */
    public boolean localRope(int layer) {
        return design.localRopeTheta() > 0 && !design.slidingLayers().isEmpty() && design.slidingLayers().get(layer);
    }

    /** Whether every layer is Llama's with one window: what the GPU engines and the GGUF export are written for. */
    public boolean llamaLayers() {
        return design.isLlama();
    }

    /** Whether q, k and v have biases. */
    public boolean qkvBias() {
        return attentionBias || design.qkvBias();
    }

    /** The attention score scale: {@code 1/sqrt(head_dim)}, or Gemma 3's {@code 1/sqrt(query_pre_attn_scalar)}. */
    public float attentionScale() {
        double s = design.queryPreAttnScalar() > 0 ? design.queryPreAttnScalar() : headDim;
        return (float) (1.0 / Math.sqrt(s));
    }

    /** Reads and checks {@code config.json}. */
    public static ModelConfig load(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }

    /** Parses the JSON text of a config; {@code source} names it in error messages (see {@link ModelConfigJson}). */
    public static ModelConfig parse(String json, String source) {
        return ModelConfigJson.parse(json, source);
    }
}

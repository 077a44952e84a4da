package org.jtune.model;

import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The frozen weights of a Llama/Mistral model, under their HF names, checked against the config.
 * Biases are null unless the config enables them; {@code lmHead} is the embedding table when tied.
 */
public record LlamaWeights(Tensor embedTokens, List<Layer> layers, Tensor norm, Tensor lmHead) {

    /** One decoder layer. */
    public record Layer(Tensor inputNorm, Tensor q, Tensor k, Tensor v, Tensor o,
                        Tensor qBias, Tensor kBias, Tensor vBias, Tensor oBias,
                        Tensor postAttentionNorm, Tensor gate, Tensor up, Tensor down,
                        Tensor gateBias, Tensor upBias, Tensor downBias) {}

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** Takes every tensor the config calls for from {@code source}, checking names, shapes and dtypes. */
    public static LlamaWeights load(ModelConfig c, WeightSource source) {
        Loader l = new Loader(source);
        int d = c.hiddenSize(), i = c.intermediateSize();
        Tensor embed = l.get("model.embed_tokens.weight", c.vocabSize(), d);
        List<Layer> layers = new ArrayList<>();
        for (int n = 0; n < c.numLayers(); n++) {
            String p = layerPrefix(n);
            boolean ab = c.attentionBias(), mb = c.mlpBias();
            layers.add(new Layer(
                    l.get(p + "input_layernorm.weight", d),
                    l.get(p + "self_attn.q_proj.weight", c.qWidth(), d),
                    l.get(p + "self_attn.k_proj.weight", c.kvWidth(), d),
                    l.get(p + "self_attn.v_proj.weight", c.kvWidth(), d),
                    l.get(p + "self_attn.o_proj.weight", d, c.qWidth()),
                    ab ? l.get(p + "self_attn.q_proj.bias", c.qWidth()) : null,
                    ab ? l.get(p + "self_attn.k_proj.bias", c.kvWidth()) : null,
                    ab ? l.get(p + "self_attn.v_proj.bias", c.kvWidth()) : null,
                    ab ? l.get(p + "self_attn.o_proj.bias", d) : null,
                    l.get(p + "post_attention_layernorm.weight", d),
                    l.get(p + "mlp.gate_proj.weight", i, d),
                    l.get(p + "mlp.up_proj.weight", i, d),
                    l.get(p + "mlp.down_proj.weight", d, i),
                    mb ? l.get(p + "mlp.gate_proj.bias", i) : null,
                    mb ? l.get(p + "mlp.up_proj.bias", i) : null,
                    mb ? l.get(p + "mlp.down_proj.bias", d) : null));
        }
        Tensor norm = l.get("model.norm.weight", d);
        Tensor head = c.tieWordEmbeddings() ? embed : l.get("lm_head.weight", c.vocabSize(), d);
        return new LlamaWeights(embed, List.copyOf(layers), norm, head);
    }

    private record Loader(WeightSource source) {
        Tensor get(String name, long... shape) {
            if (!source.has(name)) {
                throw new ModelConfigException(source.description() + ": missing tensor " + name
                        + " (expected shape " + Arrays.toString(shape) + ")");
            }
            Tensor t = source.tensor(name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new ModelConfigException(source.description() + ": tensor " + name + " has shape "
                        + Arrays.toString(t.shape()) + " but the config needs " + Arrays.toString(shape));
            }
            if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                throw new ModelConfigException(source.description() + ": tensor " + name + " is " + t.dtype()
                        + "; only F32, BF16 and F16 weights are supported here");
            }
            return t;
        }
    }
}

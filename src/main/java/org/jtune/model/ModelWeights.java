package org.jtune.model;

import org.jtune.quant.Nf4Weight;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.List;

/**
 * The frozen weights of a model (Llama, Mistral, Qwen2, Qwen3, Gemma 3), under their HF names, checked against the
 * config. Biases and the norms a family lacks are null; {@code lmHead} is the embedding table when tied. The seven
 * projections of each layer are dense or NF4 ({@link FrozenLinearWeight}); everything else is dense. Norm weights
 * are kept as the file has them (Gemma's {@code 1 + w} is applied by the engines).
 */
public record ModelWeights(Tensor embedTokens, List<Layer> layers, Tensor norm, Tensor lmHead) {

    /**
     * One decoder layer.
     *
     * @param mlpNorm             the norm of the MLP's input ({@code post_attention_layernorm}, or Gemma 3's
     *                            {@code pre_feedforward_layernorm})
     * @param qNorm               the per-head norm of q (Qwen3, Gemma 3), else null; {@code kNorm} likewise
     * @param attentionOutputNorm the norm of the attention output (Gemma 3's {@code post_attention_layernorm}), else
     *                            null; {@code mlpOutputNorm} likewise for the MLP's ({@code post_feedforward_layernorm})
     */
    public record Layer(Tensor inputNorm, FrozenLinearWeight q, FrozenLinearWeight k, FrozenLinearWeight v,
                        FrozenLinearWeight o, Tensor qBias, Tensor kBias, Tensor vBias, Tensor oBias,
                        Tensor mlpNorm, FrozenLinearWeight gate, FrozenLinearWeight up,
                        FrozenLinearWeight down, Tensor gateBias, Tensor upBias, Tensor downBias,
                        Tensor qNorm, Tensor kNorm, Tensor attentionOutputNorm, Tensor mlpOutputNorm) {

        /** Every norm weight of the layer under its HF name within the layer ({@code input_layernorm.weight}...). */
        public Map<String, Tensor> norms() {
            Map<String, Tensor> norms = new LinkedHashMap<>();
            norms.put("input_layernorm.weight", inputNorm);
            if (qNorm != null) {
                norms.put("self_attn.q_norm.weight", qNorm);
                norms.put("self_attn.k_norm.weight", kNorm);
            }
            if (attentionOutputNorm != null) {
                norms.put("post_attention_layernorm.weight", attentionOutputNorm);
                norms.put("pre_feedforward_layernorm.weight", mlpNorm);
                norms.put("post_feedforward_layernorm.weight", mlpOutputNorm);
            } else {
                norms.put("post_attention_layernorm.weight", mlpNorm);
            }
            return norms;
        }

        /** The weight of one projection. */
        public FrozenLinearWeight projection(LoraTarget t) {
            return switch (t) {
                case Q -> q;
                case K -> k;
                case V -> v;
                case O -> o;
                case GATE -> gate;
                case UP -> up;
                case DOWN -> down;
            };
        }

        /** The bias of one projection, or null. */
        public Tensor bias(LoraTarget t) {
            return switch (t) {
                case Q -> qBias;
                case K -> kBias;
                case V -> vBias;
                case O -> oBias;
                case GATE -> gateBias;
                case UP -> upBias;
                case DOWN -> downBias;
            };
        }
    }

    /** What happens to a projection the source stores dense: kept as it is, or quantized (see {@link Nf4OnLoad}). */
    @FunctionalInterface
    public interface DenseProjections {
        FrozenLinearWeight hold(String module, Tensor weight);
    }

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** Takes every tensor the config calls for from {@code source}, checking names, shapes and dtypes. */
    public static ModelWeights load(ModelConfig c, WeightSource source) {
        return load(c, source, (module, weight) -> new FrozenLinearWeight.Dense(weight));
    }

    /**
     * As {@link #load(ModelConfig, WeightSource)}; projections the source holds as NF4 are kept so, and those it
     * holds dense go through {@code dense}.
     */
    public static ModelWeights load(ModelConfig c, WeightSource source, DenseProjections dense) {
        return load(c, source, dense, new HashSet<>());
    }

    /** As above, adding the name of every tensor taken from the source to {@code used}. */
    static ModelWeights load(ModelConfig c, WeightSource source, DenseProjections dense, Set<String> used) {
        Loader l = new Loader(source, dense, used);
        int d = c.hiddenSize(), i = c.intermediateSize();
        Tensor embed = l.get("model.embed_tokens.weight", c.vocabSize(), d);
        List<Layer> layers = new ArrayList<>();
        LayerDesign design = c.design();
        for (int n = 0; n < c.numLayers(); n++) {
            String p = layerPrefix(n);
            boolean qkvb = c.qkvBias(), ob = c.attentionBias(), mb = c.mlpBias();
            boolean sandwich = design.sandwichNorms();
            int hd = c.headDim();
            layers.add(new Layer(
                    l.get(p + "input_layernorm.weight", d),
                    l.linear(p + "self_attn.q_proj", c.qWidth(), d),
                    l.linear(p + "self_attn.k_proj", c.kvWidth(), d),
                    l.linear(p + "self_attn.v_proj", c.kvWidth(), d),
                    l.linear(p + "self_attn.o_proj", d, c.qWidth()),
                    qkvb ? l.get(p + "self_attn.q_proj.bias", c.qWidth()) : null,
                    qkvb ? l.get(p + "self_attn.k_proj.bias", c.kvWidth()) : null,
                    qkvb ? l.get(p + "self_attn.v_proj.bias", c.kvWidth()) : null,
                    ob ? l.get(p + "self_attn.o_proj.bias", d) : null,
                    l.get(p + (sandwich ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), d),
                    l.linear(p + "mlp.gate_proj", i, d),
                    l.linear(p + "mlp.up_proj", i, d),
                    l.linear(p + "mlp.down_proj", d, i),
                    mb ? l.get(p + "mlp.gate_proj.bias", i) : null,
                    mb ? l.get(p + "mlp.up_proj.bias", i) : null,
                    mb ? l.get(p + "mlp.down_proj.bias", d) : null,
                    design.qkNorm() ? l.get(p + "self_attn.q_norm.weight", hd) : null,
                    design.qkNorm() ? l.get(p + "self_attn.k_norm.weight", hd) : null,
                    sandwich ? l.get(p + "post_attention_layernorm.weight", d) : null,
                    sandwich ? l.get(p + "post_feedforward_layernorm.weight", d) : null));
        }
        Tensor norm = l.get("model.norm.weight", d);
        Tensor head = c.tieWordEmbeddings() ? embed : l.get("lm_head.weight", c.vocabSize(), d);
        return new ModelWeights(embed, List.copyOf(layers), norm, head);
    }

    /** Bytes of the one buffer that per-use dequantization needs: the largest NF4 projection, dense; 0 if none. */
    public long dequantScratchBytes() {
        long bytes = 0;
        for (Layer layer : layers) {
            for (LoraTarget t : LoraTarget.values()) {
                bytes = Math.max(bytes, layer.projection(t).scratchBytes());
            }
        }
        return bytes;
    }

    private record Loader(WeightSource source, DenseProjections dense, Set<String> used) {
        Tensor get(String name, long... shape) {
            used.add(name);
            if (!source.has(name)) {
                throw new ModelConfigException(source.location(name) + ": missing tensor " + name
                        + " (expected shape " + Arrays.toString(shape) + ")");
            }
            Tensor t = source.tensor(name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new ModelConfigException(source.location(name) + ": tensor " + name + " has shape "
                        + Arrays.toString(t.shape()) + " but the config needs " + Arrays.toString(shape));
            }
            if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                throw new ModelConfigException(source.location(name) + ": tensor " + name + " is " + t.dtype()
                        + "; only F32, BF16 and F16 weights are supported here");
            }
            return t;
        }

        FrozenLinearWeight linear(String module, long out, long in) {
            Nf4Weight quantized = source.quantized(module);
            if (quantized == null) {
                return dense.hold(module, get(module + ".weight", out, in));
            }
            for (String name : source.names()) {
                if (name.startsWith(module + ".weight")) {
                    used.add(name);
                }
            }
            long[] shape = quantized.state().shape();
            if (!Arrays.equals(shape, new long[] {out, in})) {
                throw new ModelConfigException(source.location(module + ".weight") + ": 4-bit weight " + module
                        + ".weight has shape " + Arrays.toString(shape) + " (in its quant state) but the config needs "
                        + Arrays.toString(new long[] {out, in}));
            }
            return new FrozenLinearWeight.Nf4(quantized);
        }
    }
}

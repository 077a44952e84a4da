package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The frozen base weights in device memory: bf16 embeddings, norms, biases and LM head; projections as planned.
 * A family's extras are held only where its config has them: Qwen2's q/k/v biases, Qwen3's per-head q/k norms.
 */
final class DeviceWeights {
    /**
     * One decoder layer's weights.
     *
     * @param qkvBias the q, k and v biases one after the other, bf16 [qWidth + 2 kvWidth] (a decode step adds them
     *                to its fused q/k/v rows in one pass); null where the family has none
     * @param qNorm   the per-head norm weight of q, bf16 [headDim]; {@code kNorm} likewise; null where absent
     */
    record Layer(DeviceBuffer inputNorm, DeviceBuffer mlpNorm, DeviceProjection[] projections,
                 DeviceBuffer qkvBias, DeviceBuffer qNorm, DeviceBuffer kNorm, int qWidth, int kvWidth) {
        DeviceProjection projection(LoraTarget t) {
            return projections[t.ordinal()];
        }

        /** The bias of q, k or v within {@link #qkvBias}; null for the other projections or without biases. */
        DeviceBuffer bias(LoraTarget t) {
            if (qkvBias == null) {
                return null;
            }
            return switch (t) {
                case Q -> qkvBias.slice(0, 2L * qWidth);
                case K -> qkvBias.slice(2L * qWidth, 2L * kvWidth);
                case V -> qkvBias.slice(2L * (qWidth + kvWidth), 2L * kvWidth);
                default -> null;
            };
        }
    }

    final DeviceBuffer embedTokens, norm, lmHead;
    final List<Layer> layers = new ArrayList<>();
    private final boolean tied;

    DeviceWeights(MemoryCarver carver, ModelConfig c, BaseFormat format) {
        int d = c.hiddenSize();
        tied = c.tieWordEmbeddings();
        embedTokens = carver.take(MemoryUse.WEIGHTS, "model.embed_tokens.weight", 2L * c.vocabSize() * d);
        for (int l = 0; l < c.numLayers(); l++) {
            String prefix = ModelWeights.layerPrefix(l);
            DeviceBuffer inputNorm = carver.take(MemoryUse.WEIGHTS, prefix + "input_layernorm.weight", 2L * d);
            DeviceBuffer postNorm = carver.take(MemoryUse.WEIGHTS, prefix + "post_attention_layernorm.weight", 2L * d);
            DeviceProjection[] projections = new DeviceProjection[LoraTarget.values().length];
            for (LoraTarget t : LoraTarget.values()) {
                projections[t.ordinal()] = new DeviceProjection(carver, prefix + t.modulePath() + ".weight",
                        format.get(l, t), t.outFeatures(c), t.inFeatures(c));
            }
            DeviceBuffer qkvBias = c.qkvBias() ? carver.take(MemoryUse.WEIGHTS, prefix + "self_attn.{q,k,v}_proj.bias",
                    2L * (c.qWidth() + 2L * c.kvWidth())) : null;
            boolean qkNorm = c.design().qkNorm();
            DeviceBuffer qNorm = qkNorm ? carver.take(MemoryUse.WEIGHTS, prefix + "self_attn.q_norm.weight",
                    2L * c.headDim()) : null;
            DeviceBuffer kNorm = qkNorm ? carver.take(MemoryUse.WEIGHTS, prefix + "self_attn.k_norm.weight",
                    2L * c.headDim()) : null;
            layers.add(new Layer(inputNorm, postNorm, projections, qkvBias, qNorm, kNorm, c.qWidth(), c.kvWidth()));
        }
        norm = carver.take(MemoryUse.WEIGHTS, "model.norm.weight", 2L * d);
        lmHead = tied ? embedTokens : carver.take(MemoryUse.WEIGHTS, "lm_head.weight", 2L * c.vocabSize() * d);
    }

    /** Bytes of the bf16 buffer one NF4 projection is dequantized into: the largest; 0 if none is NF4. */
    long dequantScratchBytes() {
        long bytes = 0;
        for (Layer layer : layers) {
            for (DeviceProjection p : layer.projections) {
                bytes = Math.max(bytes, p.scratchBytes());
            }
        }
        return bytes;
    }

    /** Copies every weight to the device (synchronously; done once, before training). */
    void upload(ModelWeights w) {
        HostBf16.upload(w.embedTokens(), embedTokens, "model.embed_tokens.weight");
        for (int l = 0; l < layers.size(); l++) {
            ModelWeights.Layer source = w.layers().get(l);
            Layer target = layers.get(l);
            String prefix = ModelWeights.layerPrefix(l);
            HostBf16.upload(source.inputNorm(), target.inputNorm(), prefix + "input_layernorm.weight");
            HostBf16.upload(source.mlpNorm(), target.mlpNorm(),
                    prefix + "post_attention_layernorm.weight");
            for (LoraTarget t : LoraTarget.values()) {
                target.projection(t).upload(source.projection(t));
            }
            if (target.qkvBias() != null) {
                for (LoraTarget t : List.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V)) {
                    HostBf16.upload(required(source.bias(t), prefix + t.modulePath() + ".bias"), target.bias(t),
                            prefix + t.modulePath() + ".bias");
                }
            }
            if (target.qNorm() != null) {
                HostBf16.upload(required(source.qNorm(), prefix + "self_attn.q_norm.weight"), target.qNorm(),
                        prefix + "self_attn.q_norm.weight");
                HostBf16.upload(required(source.kNorm(), prefix + "self_attn.k_norm.weight"), target.kNorm(),
                        prefix + "self_attn.k_norm.weight");
            }
        }
        HostBf16.upload(w.norm(), norm, "model.norm.weight");
        if (!tied) {
            HostBf16.upload(w.lmHead(), lmHead, "lm_head.weight");
        }
    }

    /** The weights were loaded for another config if a tensor the device plan holds is missing from them. */
    private static <T> T required(T tensor, String name) {
        if (tensor == null) {
            throw new IllegalArgumentException(name + " is missing from the weights, but the config calls for it");
        }
        return tensor;
    }
}

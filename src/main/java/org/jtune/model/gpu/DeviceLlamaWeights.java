package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.model.LlamaWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/** The frozen base weights in device memory: bf16 embeddings, norms and LM head; projections as planned. */
final class DeviceLlamaWeights {
    /** One decoder layer's weights. */
    record Layer(DeviceBuffer inputNorm, DeviceBuffer mlpNorm, DeviceProjection[] projections) {
        DeviceProjection projection(LoraTarget t) {
            return projections[t.ordinal()];
        }
    }

    final DeviceBuffer embedTokens, norm, lmHead;
    final List<Layer> layers = new ArrayList<>();
    private final boolean tied;

    DeviceLlamaWeights(MemoryCarver carver, ModelConfig c, BaseFormat format) {
        int d = c.hiddenSize();
        tied = c.tieWordEmbeddings();
        embedTokens = carver.take(MemoryUse.WEIGHTS, "model.embed_tokens.weight", 2L * c.vocabSize() * d);
        for (int l = 0; l < c.numLayers(); l++) {
            String prefix = LlamaWeights.layerPrefix(l);
            DeviceBuffer inputNorm = carver.take(MemoryUse.WEIGHTS, prefix + "input_layernorm.weight", 2L * d);
            DeviceBuffer postNorm = carver.take(MemoryUse.WEIGHTS, prefix + "post_attention_layernorm.weight", 2L * d);
            DeviceProjection[] projections = new DeviceProjection[LoraTarget.values().length];
            for (LoraTarget t : LoraTarget.values()) {
                projections[t.ordinal()] = new DeviceProjection(carver, prefix + t.modulePath() + ".weight",
                        format.get(l, t), t.outFeatures(c), t.inFeatures(c));
            }
            layers.add(new Layer(inputNorm, postNorm, projections));
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
    void upload(LlamaWeights w) {
        HostBf16.upload(w.embedTokens(), embedTokens, "model.embed_tokens.weight");
        for (int l = 0; l < layers.size(); l++) {
            LlamaWeights.Layer source = w.layers().get(l);
            Layer target = layers.get(l);
            String prefix = LlamaWeights.layerPrefix(l);
            HostBf16.upload(source.inputNorm(), target.inputNorm(), prefix + "input_layernorm.weight");
            HostBf16.upload(source.mlpNorm(), target.mlpNorm(),
                    prefix + "post_attention_layernorm.weight");
            for (LoraTarget t : LoraTarget.values()) {
                target.projection(t).upload(source.projection(t));
            }
        }
        HostBf16.upload(w.norm(), norm, "model.norm.weight");
        if (!tied) {
            HostBf16.upload(w.lmHead(), lmHead, "lm_head.weight");
        }
    }
}

package org.jtune.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.AtomicFiles;
import org.jtune.io.PythonJson;
import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.io.TensorData;
import org.jtune.quant.Bnb4bitTensors;
import org.jtune.quant.NamedTensor;
import org.jtune.quant.QuantizationConfig;
import org.jtune.quant.TorchDtypeNames;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a model whose projections are NF4 as transformers + bitsandbytes save a 4-bit model (spec §5.4): the
 * bnb-4bit tensors of each quantized projection, every other tensor as stored, safetensors sharded as huggingface_hub
 * does, and config.json with {@code quantization_config}. Each file is written atomically, config.json last, so a
 * folder with a config.json never lacks its tensors.
 */
final class Bnb4bitModelWriter {
    private Bnb4bitModelWriter() {}

    static void write(Path folder, ObjectNode configJson, ModelConfig config, ModelWeights weights,
                      QuantizationConfig quantization, long maxShardBytes) throws IOException {
        List<String> denseProjections = denseProjections(weights);
        if (quantization == null || denseProjections.size() == LoraTarget.values().length * weights.layers().size()) {
            throw new IllegalStateException("no projection of this model is 4-bit quantized; there is nothing to save"
                    + " in the bnb-4bit layout");
        }
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsCheckpointWriter.write(folder, tensors(config, weights, arena), maxShardBytes);
        }
        ObjectNode json = configJson.deepCopy();
        json.set("quantization_config", withSkipped(quantization, denseProjections).toJson());
        if (!json.has("torch_dtype") && !json.has("dtype")) {
            json.put("torch_dtype", TorchDtypeNames.name(weights.embedTokens().dtype()));
        }
        // As transformers' PretrainedConfig.to_json_file: json.dumps(indent=2, sort_keys=True) + "\n".
        AtomicFiles.write(folder.resolve(ModelLoader.CONFIG_FILE),
                (PythonJson.dumpsSorted(json) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Projections held dense must be listed in llm_int8_skip_modules, else transformers would expect them
     * quantized; the config's own entries are kept.
     */
    private static QuantizationConfig withSkipped(QuantizationConfig quantization, List<String> denseProjections) {
        if (denseProjections.isEmpty()) {
            return quantization;
        }
        Set<String> skip = new LinkedHashSet<>();
        if (quantization.skipModules() != null) {
            skip.addAll(quantization.skipModules());
        }
        skip.addAll(denseProjections);
        return new QuantizationConfig(quantization.doubleQuant(), quantization.computeDtype(), List.copyOf(skip));
    }

    private static List<String> denseProjections(ModelWeights weights) {
        List<String> dense = new ArrayList<>();
        for (int l = 0; l < weights.layers().size(); l++) {
            for (LoraTarget t : LoraTarget.values()) {
                if (weights.layers().get(l).projection(t) instanceof FrozenLinearWeight.Dense) {
                    dense.add(ModelWeights.layerPrefix(l) + t.modulePath());
                }
            }
        }
        return dense;
    }

    /** In the order of transformers' state dict; quant maps and blobs are allocated in arena. */
    private static List<TensorData> tensors(ModelConfig config, ModelWeights weights, Arena arena) {
        List<TensorData> out = new ArrayList<>();
        add(out, "model.embed_tokens.weight", weights.embedTokens());
        for (int l = 0; l < weights.layers().size(); l++) {
            ModelWeights.Layer layer = weights.layers().get(l);
            String prefix = ModelWeights.layerPrefix(l);
            for (LoraTarget t : LoraTarget.values()) {
                String module = prefix + t.modulePath();
                switch (layer.projection(t)) {
                    case FrozenLinearWeight.Dense d -> add(out, module + ".weight", d.tensor());
                    case FrozenLinearWeight.Nf4 q -> {
                        for (NamedTensor n : Bnb4bitTensors.tensors(q.weight(), module, arena)) {
                            out.add(new TensorData(n.name(), n.dtype(), n.shape(), n.data()));
                        }
                    }
                }
                if (layer.bias(t) != null) {
                    add(out, module + ".bias", layer.bias(t));
                }
            }
            layer.norms().forEach((name, t) -> add(out, prefix + name, t));
        }
        add(out, "model.norm.weight", weights.norm());
        if (!config.tieWordEmbeddings()) {
            add(out, "lm_head.weight", weights.lmHead());
        }
        return out;
    }

    private static void add(List<TensorData> out, String name, Tensor t) {
        out.add(new TensorData(name, t.dtype(), t.shape(), t.segment()));
    }
}

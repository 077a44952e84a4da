package org.jtune.train;

import org.jtune.io.LoraModuleWeights;
import org.jtune.io.ModuleSelector;
import org.jtune.io.PeftAdapter;
import org.jtune.io.PeftAdapterConfig;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA adapters to and from PEFT adapter folders ({@code adapter_config.json} + {@code adapter_model.safetensors}),
 * so that an adapter trained here loads in PEFT and one made by PEFT can be trained further or merged here.
 * Adapters whose modules differ in rank or alpha, or that adapt some layers only, are refused: the model applies
 * one LoRA configuration to every layer.
 */
public final class AdapterFiles {
    /** PEFT's default {@code target_modules} for Llama and Mistral. */
    private static final List<String> PEFT_DEFAULT_TARGETS = List.of("q_proj", "v_proj");

    private AdapterFiles() {}

    /** Path of a projection in the base model, e.g. {@code model.layers.3.mlp.up_proj}. */
    static String modulePath(int layer, LoraTarget target) {
        return ModelWeights.layerPrefix(layer) + target.modulePath();
    }

    /** The PEFT configuration of {@code lora} (task CAUSAL_LM, dropout 0). */
    public static PeftAdapterConfig peftConfig(LoraConfig lora, String baseModelNameOrPath) {
        List<String> modules = new ArrayList<>();
        for (LoraTarget t : LoraTarget.values()) {
            if (lora.targets().contains(t)) {
                modules.add(t.moduleName());
            }
        }
        return PeftAdapterConfig.builder().taskType("CAUSAL_LM").baseModelNameOrPath(baseModelNameOrPath)
                .r(lora.rank()).loraAlpha(lora.alpha()).useRslora(lora.useRslora())
                .targetModules(ModuleSelector.names(modules)).build();
    }

    /** Writes {@code lora} as a PEFT adapter into {@code folder} (F32 weights, as PEFT saves them). */
    public static void save(LoraAdapters lora, ModelConfig model, Path folder, String baseModelNameOrPath)
            throws IOException {
        LoraConfig c = lora.config();
        List<LoraModuleWeights> modules = new ArrayList<>();
        for (int l = 0; l < model.numLayers(); l++) {
            for (LoraTarget t : c.targets()) {
                LoraAdapters.Adapter ad = lora.adapter(l, t);
                modules.add(new LoraModuleWeights(modulePath(l, t), c.rank(), t.inFeatures(model),
                        t.outFeatures(model), ad.a().toFloatArray(), ad.b().toFloatArray()));
            }
        }
        PeftAdapterFiles.write(folder, peftConfig(c, baseModelNameOrPath), modules);
    }

    /** Reads the PEFT adapter in {@code folder} into new adapters (allocated in {@code arena}) for {@code model}. */
    public static LoraAdapters load(Path folder, ModelConfig model, Arena arena) throws IOException {
        PeftAdapter adapter = PeftAdapterFiles.read(folder);
        LoraAdapters lora = new LoraAdapters(model, loraConfig(adapter.config(), model, folder), arena);
        copyWeights(adapter, lora, model, folder);
        return lora;
    }

    /** Overwrites the matrices of {@code lora} with the PEFT adapter in {@code folder}, whose configuration must match. */
    public static void loadInto(Path folder, LoraAdapters lora, ModelConfig model) throws IOException {
        PeftAdapter adapter = PeftAdapterFiles.read(folder);
        LoraConfig found = loraConfig(adapter.config(), model, folder);
        if (!found.equals(lora.config())) {
            throw new IllegalArgumentException(folder + ": the adapter has " + found + " but the model's adapters have "
                    + lora.config());
        }
        copyWeights(adapter, lora, model, folder);
    }

    /** The one LoRA configuration PEFT's config gives every adapted module of {@code model}. */
    static LoraConfig loraConfig(PeftAdapterConfig peft, ModelConfig model, Path folder) {
        ModuleSelector targets = peft.targetModules();
        if (targets == null) {
            targets = ModuleSelector.names(PEFT_DEFAULT_TARGETS);
        } else if (targets.isAllLinear()) {
            targets = ModuleSelector.names(EnumSet.allOf(LoraTarget.class).stream().map(LoraTarget::moduleName)
                    .toList());
        }
        PeftAdapterConfig resolved = peft.toBuilder().targetModules(targets).build();
        Set<LoraTarget> firstLayer = null;
        Integer rank = null;
        Double alpha = null;
        for (int l = 0; l < model.numLayers(); l++) {
            Set<LoraTarget> layer = EnumSet.noneOf(LoraTarget.class);
            for (LoraTarget t : LoraTarget.values()) {
                String path = modulePath(l, t);
                if (!resolved.targets(path)) {
                    continue;
                }
                layer.add(t);
                if (rank == null) {
                    rank = resolved.rank(path);
                    alpha = resolved.alpha(path);
                } else if (rank != resolved.rank(path) || alpha != resolved.alpha(path)) {
                    throw new IllegalArgumentException(folder + ": " + path + " has rank " + resolved.rank(path)
                            + " and alpha " + resolved.alpha(path) + " but other modules have " + rank + " and "
                            + alpha + "; per-module ranks or alphas (rank_pattern, alpha_pattern) are not supported");
                }
            }
            if (firstLayer == null) {
                firstLayer = layer;
            } else if (!firstLayer.equals(layer)) {
                throw new IllegalArgumentException(folder + ": layer " + l + " adapts " + layer + " but layer 0 adapts "
                        + firstLayer + "; adapting layers differently is not supported");
            }
        }
        if (firstLayer == null || firstLayer.isEmpty()) {
            throw new IllegalArgumentException(folder + ": target_modules " + targets
                    + " matches none of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
        }
        return new LoraConfig(rank, alpha, peft.useRslora(), firstLayer);
    }

    private static void copyWeights(PeftAdapter adapter, LoraAdapters lora, ModelConfig model, Path folder) {
        Map<String, LoraModuleWeights> modules = new LinkedHashMap<>(adapter.modules());
        for (int l = 0; l < model.numLayers(); l++) {
            for (LoraTarget t : lora.config().targets()) {
                String path = modulePath(l, t);
                LoraModuleWeights w = modules.remove(path);
                if (w == null) {
                    throw new IllegalArgumentException(folder + ": " + PeftAdapterFiles.WEIGHTS_FILE
                            + " has no weights for " + path + ", which the config targets");
                }
                if (w.inFeatures() != t.inFeatures(model) || w.outFeatures() != t.outFeatures(model)) {
                    throw new IllegalArgumentException(folder + ": " + path + " is " + w.outFeatures() + " x "
                            + w.inFeatures() + " in the adapter but " + t.outFeatures(model) + " x "
                            + t.inFeatures(model) + " in the model (an adapter for another model?)");
                }
                LoraAdapters.Adapter ad = lora.adapter(l, t);
                ad.a().copyFrom(w.a());
                ad.b().copyFrom(w.b());
            }
        }
        if (!modules.isEmpty()) {
            throw new IllegalArgumentException(folder + ": " + PeftAdapterFiles.WEIGHTS_FILE + " has weights for "
                    + modules.keySet() + ", which this model does not adapt");
        }
    }
}

package org.jtune.model;

import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trainable LoRA matrices of a model and their gradients: A [r, in] and B [out, r] (F32) for each adapted
 * projection of each layer, addressed by their PEFT names
 * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}).
 */
public final class LoraAdapters {

    /** One adapted projection: its matrices and the gradients backward adds into. */
    public record Adapter(Tensor a, Tensor b, Tensor gradA, Tensor gradB) {}

    private final LoraConfig config;
    private final List<Map<LoraTarget, Adapter>> layers = new ArrayList<>();
    private final Map<String, Tensor> byName = new LinkedHashMap<>();
    private final Map<String, Tensor> gradByName = new LinkedHashMap<>();

    /** Allocates zero A, B and gradients for every target in every layer. */
    public LoraAdapters(ModelConfig model, LoraConfig config, Arena arena) {
        this.config = config;
        for (int l = 0; l < model.numLayers(); l++) {
            Map<LoraTarget, Adapter> m = new EnumMap<>(LoraTarget.class);
            for (LoraTarget t : LoraTarget.values()) {
                if (!config.targets().contains(t)) {
                    continue;
                }
                int in = t.inFeatures(model), out = t.outFeatures(model), r = config.rank();
                Adapter ad = new Adapter(Tensor.f32(arena, r, in), Tensor.f32(arena, out, r),
                        Tensor.f32(arena, r, in), Tensor.f32(arena, out, r));
                m.put(t, ad);
                String prefix = peftPrefix(l, t);
                byName.put(prefix + "lora_A.weight", ad.a());
                byName.put(prefix + "lora_B.weight", ad.b());
                gradByName.put(prefix + "lora_A.weight", ad.gradA());
                gradByName.put(prefix + "lora_B.weight", ad.gradB());
            }
            layers.add(m);
        }
    }

    private static String peftPrefix(int layer, LoraTarget t) {
        return "base_model.model." + ModelWeights.layerPrefix(layer) + t.modulePath() + ".";
    }

    /**
     * PEFT's default initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)), B = 0.
     * The same seed gives the same matrices.
     */
    public void initPeftDefault(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map<LoraTarget, Adapter> m : layers) {
            for (Adapter ad : m.values()) {
                double bound = 1 / Math.sqrt(ad.a().dim(1));
                for (long i = 0; i < ad.a().size(); i++) {
                    ad.a().set(i, (float) ((rnd.nextDouble() * 2 - 1) * bound));
                }
                ad.b().zero();
            }
        }
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapter of one projection, or null if that projection is not adapted. */
    public Adapter adapter(int layer, LoraTarget target) {
        return layers.get(layer).get(target);
    }

    /** PEFT names of all A and B matrices, layer by layer. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /** All A and B matrices, in the order of {@link #names()}. */
    public List<Tensor> matrices() {
        return List.copyOf(byName.values());
    }

    /** The gradients of all matrices, in the order of {@link #names()}. */
    public List<Tensor> gradients() {
        return List.copyOf(gradByName.values());
    }

    /** Copies every matrix of {@code from}, which must have the same names and shapes, into these adapters. */
    public void copyFrom(LoraAdapters from) {
        if (!from.names().equals(names())) {
            throw new IllegalArgumentException("adapters of " + from.names().size() + " matrices cannot be copied into"
                    + " adapters of " + names().size() + " (their names differ)");
        }
        for (String name : names()) {
            tensor(name).copyFrom(from.tensor(name));
        }
    }

    /** The matrix of a PEFT name (to read, or to set values explicitly). */
    public Tensor tensor(String peftName) {
        return lookup(byName, peftName);
    }

    /** The gradient of the matrix of a PEFT name. */
    public Tensor gradient(String peftName) {
        return lookup(gradByName, peftName);
    }

    private static Tensor lookup(Map<String, Tensor> map, String name) {
        Tensor t = map.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no LoRA matrix named " + name);
        }
        return t;
    }

    /** Sets all gradients to zero (backward adds to them, so that micro-batches can accumulate). */
    public void zeroGradients() {
        for (Tensor g : gradByName.values()) {
            g.zero();
        }
    }
}

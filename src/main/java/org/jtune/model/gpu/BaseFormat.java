package org.jtune.model.gpu;

import org.jtune.model.ModelWeights;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;

import java.util.Arrays;

/** The device format of every projection of a base model: what sizes its weights, before any is loaded. */
public final class BaseFormat {
    private final ProjectionFormat[][] formats;

    private BaseFormat(ProjectionFormat[][] formats) {
        this.formats = formats;
    }

    /** The formats of loaded weights. */
    public static BaseFormat of(ModelWeights weights) {
        ProjectionFormat[][] f = new ProjectionFormat[weights.layers().size()][LoraTarget.values().length];
        for (int l = 0; l < f.length; l++) {
            for (LoraTarget t : LoraTarget.values()) {
                f[l][t.ordinal()] = ProjectionFormat.of(weights.layers().get(l).projection(t));
            }
        }
        return new BaseFormat(f);
    }

    /** Every projection of every layer in one format (to plan for a model not loaded yet). */
    public static BaseFormat uniform(ModelConfig config, ProjectionFormat format) {
        ProjectionFormat[][] f = new ProjectionFormat[config.numLayers()][LoraTarget.values().length];
        for (ProjectionFormat[] layer : f) {
            Arrays.fill(layer, format);
        }
        return new BaseFormat(f);
    }

    public ProjectionFormat get(int layer, LoraTarget target) {
        return formats[layer][target.ordinal()];
    }

    /** "nf4", "bf16", or "nf4 and bf16" when mixed. */
    public String describe() {
        boolean nf4 = false, bf16 = false;
        for (ProjectionFormat[] layer : formats) {
            for (ProjectionFormat p : layer) {
                nf4 |= p instanceof ProjectionFormat.Nf4;
                bf16 |= p instanceof ProjectionFormat.Bf16;
            }
        }
        return nf4 && bf16 ? "nf4 and bf16" : nf4 ? "nf4" : "bf16";
    }

    /** Whether any projection is dense (so a 4-bit base would be smaller). */
    public boolean hasDense() {
        return describe().contains("bf16");
    }
}

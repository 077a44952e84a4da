package org.jtune.model;

/** The seven linear layers of a decoder layer that can carry a LoRA adapter, with their HF module paths. */
public enum LoraTarget {
    Q("self_attn.q_proj"), K("self_attn.k_proj"), V("self_attn.v_proj"), O("self_attn.o_proj"),
    GATE("mlp.gate_proj"), UP("mlp.up_proj"), DOWN("mlp.down_proj");

    private final String modulePath;

    LoraTarget(String modulePath) {
        this.modulePath = modulePath;
    }

    /** Path inside a layer, e.g. {@code self_attn.q_proj}. */
    public String modulePath() {
        return modulePath;
    }

    /** The PEFT {@code target_modules} name, e.g. {@code q_proj}. */
    public String moduleName() {
        return modulePath.substring(modulePath.indexOf('.') + 1);
    }

    /** Input features of the base linear layer. */
    public int inFeatures(ModelConfig c) {
        return switch (this) {
            case Q, K, V, GATE, UP -> c.hiddenSize();
            case O -> c.qWidth();
            case DOWN -> c.intermediateSize();
        };
    }

    /** Output features of the base linear layer. */
    public int outFeatures(ModelConfig c) {
        return switch (this) {
            case Q -> c.qWidth();
            case K, V -> c.kvWidth();
            case O, DOWN -> c.hiddenSize();
            case GATE, UP -> c.intermediateSize();
        };
    }

    /** The target for a PEFT module name such as {@code v_proj}. */
    public static LoraTarget fromModuleName(String name) {
        for (LoraTarget t : values()) {
            if (t.moduleName().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown LoRA target module \"" + name
                + "\" (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
    }
}

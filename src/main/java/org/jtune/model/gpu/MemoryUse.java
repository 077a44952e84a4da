package org.jtune.model.gpu;

/** What a part of a GPU engine's device memory is for, as {@link MemoryPlan} reports it. */
public enum MemoryUse {
    /** Frozen base weights: dense bf16, or NF4 codes and their quant state. */
    WEIGHTS("weights"),
    /** LoRA matrices (fp32 masters and bf16 copies), their gradients and the two AdamW moments. */
    LORA("LoRA"),
    /** What forward keeps for backward: layer inputs, and with checkpointing off each layer's saved state. */
    ACTIVATIONS("activations"),
    /** The key/value cache of a decode engine. */
    CACHE("key/value cache"),
    /** Buffers reused by every layer: scratch, dequantized weight, logits chunk, attention workspace, inputs. */
    WORKSPACE("workspace");

    private final String label;

    MemoryUse(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}

package org.jtune.model.gpu;

/** What forward keeps for backward on the GPU. */
public enum Checkpointing {
    /** Every layer's saved state stays on the device: most memory, no recomputation. */
    OFF,
    /** Only each layer's input stays on the device; backward recomputes the layer from it. */
    ON,
    /**
     * As {@link #ON}, with the layer inputs in pinned host memory: copied out during forward and back during
     * backward on a second stream, so the copies run while the GPU computes.
     */
    OFFLOADED
}

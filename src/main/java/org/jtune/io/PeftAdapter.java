package org.jtune.io;

import java.util.Map;

/** A PEFT LoRA adapter in memory: its configuration and the A/B factors of each adapted module, by module path. */
public record PeftAdapter(PeftAdapterConfig config, Map<String, LoraModuleWeights> modules) {
    public PeftAdapter {
        modules = Map.copyOf(modules);
    }
}

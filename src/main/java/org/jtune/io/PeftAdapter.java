package org.jtune.io;

import java.util.Map;

/** A PEFT LoRA adapter in memory: its configuration and the A/B factors of each adapted module, by module path (file order). */
public record PeftAdapter(PeftAdapterConfig config, Map<String, LoraModuleWeights> modules) {
    public PeftAdapter {
        modules = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(modules));
    }
}

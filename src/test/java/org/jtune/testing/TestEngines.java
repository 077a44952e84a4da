package org.jtune.testing;

import org.jtune.model.EngineSpec;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.OptimizerSettings;
import org.jtune.model.cpu.CpuEngine;

/** CPU engines for tests that drive an objective or an engine directly, with transformers' AdamW defaults. */
public final class TestEngines {
    /** AdamW as transformers' defaults (weight decay 0), clipping at 1. */
    public static final OptimizerSettings OPTIMIZER = new OptimizerSettings(0.9, 0.999, 1e-8, 0, 1);

    private TestEngines() {}

    /** An engine for micro-batches of up to {@code maxRows} x {@code maxSeqLength}, training {@code lora} in place. */
    public static CpuEngine cpu(ModelConfig config, ModelWeights weights, LoraAdapters lora, int maxRows,
                                int maxSeqLength, boolean gradientCheckpointing) {
        return new CpuEngine(new EngineSpec(config, weights, lora, maxRows, maxSeqLength, 1, gradientCheckpointing,
                OPTIMIZER));
    }
}

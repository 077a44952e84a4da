package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;

/**
 * What one decoder layer's forward keeps for its backward on the GPU (bf16 unless said): 1/rms of both norms
 * (fp32), q and k after RoPE, v, the attention output and its log-sum-exp (fp32), the residual after attention,
 * gate and up, and x·Aᵀ of each LoRA adapter. With per-head q/k norms (Qwen3) also q and k before their norms and
 * the norms' 1/rms per head (fp32), which the norms' backward needs. The normalized inputs and the SwiGLU output are
 * recomputed. Sized for the largest micro-batch; a smaller one uses the leading rows.
 */
final class LayerActivations {
    final DeviceBuffer invRms1, q, k, v, attn, lse, h, invRms2, gate, up;
    /** q and k as projected (biases added), before their per-head norms; null without q/k norms. */
    final DeviceBuffer qProjected, kProjected;
    /** 1/rms of each head of q [tokens, heads] and of k [tokens, kv heads]; null without q/k norms. */
    final DeviceBuffer invRmsQ, invRmsK;
    private final DeviceBuffer[] xa = new DeviceBuffer[LoraTarget.values().length];

    LayerActivations(MemoryCarver carver, String name, ModelConfig c, LoraConfig lora, int tokens) {
        long n = tokens;
        invRms1 = carver.take(MemoryUse.ACTIVATIONS, name + " input norm 1/rms", 4 * n);
        q = carver.take(MemoryUse.ACTIVATIONS, name + " q", 2 * n * c.qWidth());
        k = carver.take(MemoryUse.ACTIVATIONS, name + " k", 2 * n * c.kvWidth());
        v = carver.take(MemoryUse.ACTIVATIONS, name + " v", 2 * n * c.kvWidth());
        boolean qkNorm = c.design().qkNorm();
        qProjected = qkNorm ? carver.take(MemoryUse.ACTIVATIONS, name + " q before its norm", 2 * n * c.qWidth())
                : null;
        kProjected = qkNorm ? carver.take(MemoryUse.ACTIVATIONS, name + " k before its norm", 2 * n * c.kvWidth())
                : null;
        invRmsQ = qkNorm ? carver.take(MemoryUse.ACTIVATIONS, name + " q norm 1/rms", 4 * n * c.numHeads()) : null;
        invRmsK = qkNorm ? carver.take(MemoryUse.ACTIVATIONS, name + " k norm 1/rms", 4 * n * c.numKvHeads())
                : null;
        attn = carver.take(MemoryUse.ACTIVATIONS, name + " attention output", 2 * n * c.qWidth());
        lse = carver.take(MemoryUse.ACTIVATIONS, name + " attention log-sum-exp", 4 * n * c.numHeads());
        h = carver.take(MemoryUse.ACTIVATIONS, name + " residual after attention", 2 * n * c.hiddenSize());
        invRms2 = carver.take(MemoryUse.ACTIVATIONS, name + " post-attention norm 1/rms", 4 * n);
        gate = carver.take(MemoryUse.ACTIVATIONS, name + " gate", 2 * n * c.intermediateSize());
        up = carver.take(MemoryUse.ACTIVATIONS, name + " up", 2 * n * c.intermediateSize());
        for (LoraTarget t : lora.targets()) {
            xa[t.ordinal()] = carver.take(MemoryUse.ACTIVATIONS, name + " " + t.moduleName() + " x·Aᵀ",
                    2 * n * lora.rank());
        }
    }

    /** x·Aᵀ of the adapter of {@code t}; null if {@code t} is not adapted. */
    DeviceBuffer xa(LoraTarget t) {
        return xa[t.ordinal()];
    }
}

package org.jtune.model.cpu;

import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.EnumMap;
import java.util.Map;

/**
 * What one decoder layer's forward keeps for its backward: 1/rms of both norms, q and k after RoPE, v, the
 * attention output and its log-sum-exp, the residual after attention, gate and up (the activation and the
 * normalized inputs are recomputed), and x·Aᵀ of each LoRA adapter. Sized for {@code tokens} rows; calls use row
 * views. Families add: q and k before their per-head norms and those norms' 1/rms (Qwen3, Gemma 3); the attention
 * and MLP outputs before their norms and those norms' 1/rms (Gemma 3). Absent parts are null.
 */
final class LayerActivations {
    final Tensor invRms1, q, k, v, attn, lse, h, invRms2, gate, up;
    final Tensor qRaw, kRaw, invRmsQ, invRmsK;
    final Tensor oRaw, invRmsO, downRaw, invRmsDown;
    final Map<LoraTarget, Tensor> xa = new EnumMap<>(LoraTarget.class);

    LayerActivations(ModelConfig c, LoraConfig lora, int tokens, Arena arena) {
        invRms1 = Tensor.f32(arena, tokens);
        q = Tensor.f32(arena, tokens, c.qWidth());
        k = Tensor.f32(arena, tokens, c.kvWidth());
        v = Tensor.f32(arena, tokens, c.kvWidth());
        attn = Tensor.f32(arena, tokens, c.qWidth());
        lse = Tensor.f32(arena, tokens, c.numHeads());
        h = Tensor.f32(arena, tokens, c.hiddenSize());
        invRms2 = Tensor.f32(arena, tokens);
        gate = Tensor.f32(arena, tokens, c.intermediateSize());
        up = Tensor.f32(arena, tokens, c.intermediateSize());
        boolean qkNorm = c.design().qkNorm(), sandwich = c.design().sandwichNorms();
        qRaw = qkNorm ? Tensor.f32(arena, tokens, c.qWidth()) : null;
        kRaw = qkNorm ? Tensor.f32(arena, tokens, c.kvWidth()) : null;
        invRmsQ = qkNorm ? Tensor.f32(arena, (long) tokens * c.numHeads()) : null;
        invRmsK = qkNorm ? Tensor.f32(arena, (long) tokens * c.numKvHeads()) : null;
        oRaw = sandwich ? Tensor.f32(arena, tokens, c.hiddenSize()) : null;
        invRmsO = sandwich ? Tensor.f32(arena, tokens) : null;
        downRaw = sandwich ? Tensor.f32(arena, tokens, c.hiddenSize()) : null;
        invRmsDown = sandwich ? Tensor.f32(arena, tokens) : null;
        if (lora != null) {
            for (LoraTarget t : lora.targets()) {
                xa.put(t, Tensor.f32(arena, tokens, lora.rank()));
            }
        }
    }
}

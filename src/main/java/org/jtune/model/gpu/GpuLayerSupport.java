package org.jtune.model.gpu;

import org.jtune.model.LayerDesign;
import org.jtune.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Which decoder layers the GPU engines run: Llama's and Mistral's, Qwen2's (q/k/v biases, per-layer sliding
 * windows) and Qwen3's (per-head q/k norms). Gemma 3's departures have no GPU kernels yet; a config that needs one
 * is refused with the list of what is missing, so that the backend places it on the CPU engine and says why.
 */
final class GpuLayerSupport {
    private GpuLayerSupport() {}

    /**
     * @param engine names the engine in the message, e.g. "the GPU step"
     * @throws IllegalArgumentException if the config's layer needs anything the GPU kernels do not have
     */
    static void require(ModelConfig c, String engine) {
        String model = c.architecture() + " (" + c.modelType() + ")";
        if (c.attentionBias()) {
            throw new IllegalArgumentException(model + " has an o_proj bias (attention_bias); " + engine
                    + " supports biases on q, k and v only");
        }
        if (c.mlpBias()) {
            throw new IllegalArgumentException(model + " has MLP biases (mlp_bias); " + engine + " supports none");
        }
        List<String> missing = missing(c.design());
        if (!missing.isEmpty() && c.headDim() != 64 && c.headDim() != 128) {
            // said here too, so that one message lists all a family lacks (the engines check head_dim alone later)
            missing.add("head_dim " + c.headDim() + " (GPU flash attention has 64 and 128)");
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(model + " needs " + String.join(", ", missing) + ", which " + engine
                    + " does not have yet (this family's layer runs on the CPU engine)");
        }
    }

    /** What a layer design needs beyond Llama's, q/k/v biases, per-head q/k norms and per-layer windows. */
    private static List<String> missing(LayerDesign d) {
        List<String> missing = new ArrayList<>();
        if (d.unitOffsetNorms()) {
            missing.add("(1 + w) RMSNorm");
        }
        if (d.sandwichNorms()) {
            missing.add("norms of the attention and MLP outputs");
        }
        if (d.scaledEmbeddings()) {
            missing.add("embeddings scaled by sqrt(hidden_size)");
        }
        if (d.activation() != LayerDesign.Activation.SILU) {
            missing.add("a " + d.activation() + " gated MLP (GeGLU)");
        }
        if (d.queryPreAttnScalar() > 0) {
            missing.add("the query_pre_attn_scalar attention scale");
        }
        if (d.localRopeTheta() > 0) {
            missing.add("a local RoPE base for the sliding layers");
        }
        return missing;
    }
}

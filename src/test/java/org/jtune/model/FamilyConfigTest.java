package org.jtune.model;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The configs of the families beyond Llama as the Hub ships them (transformers 4 keys) and as transformers 5 saves
 * them ({@code layer_types}, per-layer-type {@code rope_parameters}): what each field means for the layers.
 */
class FamilyConfigTest {

    @Test
    void qwen25HasQkvBiasesAndNoWindowUnlessAskedFor() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584, "intermediate_size": 18944,
                 "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen2",
                 "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-06,
                 "rope_theta": 1000000.0, "sliding_window": 131072, "tie_word_embeddings": false,
                 "torch_dtype": "bfloat16", "use_sliding_window": false, "vocab_size": 152064,
                 "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu"}""", "qwen");
        assertEquals(128, c.headDim());
        assertTrue(c.qkvBias());
        assertFalse(c.attentionBias(), "o_proj has no bias in Qwen2");
        assertFalse(c.llamaLayers());
        assertEquals(1e6, c.ropeTheta());
        for (int l = 0; l < 28; l++) {
            assertEquals(0, c.windowOf(l), "layer " + l);
        }
    }

    @Test
    void qwen2SlidesFromMaxWindowLayersOn() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64,
                 "num_attention_heads": 4, "num_hidden_layers": 3, "use_sliding_window": true, "sliding_window": 8,
                 "max_window_layers": 1}""", "qwen");
        assertEquals(List.of(0, 8, 8), windows(c));
        ModelConfig saved = ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64,
                 "num_attention_heads": 4, "num_hidden_layers": 3, "use_sliding_window": true, "sliding_window": 8,
                 "max_window_layers": 1, "layer_types": ["full_attention", "sliding_attention", "full_attention"]}""",
                "qwen");
        assertEquals(List.of(0, 8, 0), windows(saved), "layer_types wins over max_window_layers");
    }

    @Test
    void qwen3NormsHeadsAndKeepsItsOwnHeadDim() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "head_dim": 128,
                 "hidden_size": 4096, "intermediate_size": 12288, "max_position_embeddings": 40960,
                 "max_window_layers": 36, "model_type": "qwen3", "num_attention_heads": 32, "num_hidden_layers": 36,
                 "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
                 "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
                 "use_sliding_window": false, "vocab_size": 151936}""", "qwen3");
        assertTrue(c.design().qkNorm());
        assertFalse(c.qkvBias());
        assertEquals(4096, c.qWidth());
        assertEquals(1024, c.kvWidth());
        assertEquals((float) (1 / Math.sqrt(128)), c.attentionScale());
        ModelConfig small = ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 64, "head_dim": 32,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2}""", "qwen3");
        assertEquals(128, small.qWidth(), "head_dim is independent of hidden_size / heads");
    }

    @Test
    void gemma3FromTheHubHasFiveLocalLayersPerGlobalOne() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attn_logit_softcapping": null,
                 "bos_token_id": 2, "eos_token_id": [1, 106], "final_logit_softcapping": null, "head_dim": 256,
                 "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "intermediate_size": 6912,
                 "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
                 "num_hidden_layers": 26, "num_key_value_heads": 1, "query_pre_attn_scalar": 256,
                 "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000,
                 "sliding_window": 512, "sliding_window_pattern": 6, "torch_dtype": "bfloat16",
                 "vocab_size": 262144}""", "gemma");
        LayerDesign d = c.design();
        assertTrue(d.qkNorm() && d.unitOffsetNorms() && d.sandwichNorms() && d.scaledEmbeddings());
        assertEquals(LayerDesign.Activation.GELU_TANH, d.activation());
        assertTrue(c.tieWordEmbeddings(), "Gemma ties its embeddings by default");
        assertEquals(List.of(1, 106), c.eosTokenIds());
        for (int l = 0; l < 26; l++) {
            boolean global = (l + 1) % 6 == 0;
            assertEquals(global ? 0 : 512, c.windowOf(l), "layer " + l);
            assertEquals(!global, c.localRope(l), "layer " + l);
        }
        assertEquals(10000, d.localRopeTheta());
        assertEquals(1e6, c.ropeTheta());
        assertEquals((float) (1 / Math.sqrt(256)), c.attentionScale());
    }

    @Test
    void gemma3AsTransformers5SavesIt() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 64,
                 "head_dim": 32, "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 3,
                 "query_pre_attn_scalar": 24, "sliding_window": 8,
                 "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
                 "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                                     "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}""", "g");
        assertEquals(List.of(8, 0, 8), windows(c));
        assertEquals(RopeScaling.Type.LINEAR, c.ropeScaling().type());
        assertEquals(8.0, c.ropeScaling().factor());
        assertEquals(10000, c.design().localRopeTheta());
        assertEquals((float) (1 / Math.sqrt(24)), c.attentionScale());
    }

    @Test
    void refusalsSayWhatIsMissing() {
        ModelConfigException vision = assertThrows(ModelConfigException.class, () -> ModelConfig.parse("""
                {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3"}""", "g"));
        assertTrue(vision.getMessage().contains("vision tower"), vision.getMessage());
        ModelConfigException capping = assertThrows(ModelConfigException.class, () -> ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "final_logit_softcapping": 30.0}""", "g"));
        assertTrue(capping.getMessage().contains("final_logit_softcapping"), capping.getMessage());
        ModelConfigException gelu = assertThrows(ModelConfigException.class, () -> ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "hidden_activation": "gelu"}""", "g"));
        assertTrue(gelu.getMessage().contains("gelu_pytorch_tanh"), gelu.getMessage());
        ModelConfigException mismatch = assertThrows(ModelConfigException.class, () -> ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen2"}""", "q"));
        assertTrue(mismatch.getMessage().contains("does not match"), mismatch.getMessage());
        ModelConfigException types = assertThrows(ModelConfigException.class, () -> ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "num_hidden_layers": 2, "layer_types": ["full_attention"]}""",
                "q"));
        assertTrue(types.getMessage().contains("layer_types"), types.getMessage());
    }

    @Test
    void onlyTheBaseConfigWritesAFamilysConfig() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "num_hidden_layers": 2}""", "q");
        assertThrows(IllegalArgumentException.class, () -> ModelConfigJson.write(c, org.jtune.tensor.DType.BF16, null));
    }

    private static List<Integer> windows(ModelConfig c) {
        List<Integer> w = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            w.add(c.windowOf(l));
        }
        return w;
    }
}

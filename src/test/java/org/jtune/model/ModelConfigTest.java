package org.jtune.model;

import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {

    private static final String LLAMA2 = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
             "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 32, "max_position_embeddings": 4096, "rms_norm_eps": 1e-05,
             "rope_scaling": null, "vocab_size": 32000, "torch_dtype": "float16", "bos_token_id": 1,
             "eos_token_id": 2, "hidden_act": "silu", "tie_word_embeddings": false}""";

    @Test
    void llama2() {
        ModelConfig c = ModelConfig.parse(LLAMA2, "config.json");
        assertEquals("LlamaForCausalLM", c.architecture());
        assertEquals(128, c.headDim());
        assertEquals(32, c.numKvHeads());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        assertEquals(0, c.slidingWindow());
        assertEquals(DType.F16, c.dtype());
        assertEquals(List.of(2), c.eosTokenIds());
        assertEquals(1, c.bosTokenId());
        assertFalse(c.tieWordEmbeddings());
    }

    @Test
    void mistralWithNullHeadDimAndDefaults() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
                 "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "num_key_value_heads": 8, "head_dim": null, "max_position_embeddings": 32768,
                 "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "vocab_size": 32000,
                 "dtype": "bfloat16"}""", "m.json");
        assertEquals(128, c.headDim());
        assertEquals(4, c.groupSize());
        assertEquals(4096, c.slidingWindow());
        assertEquals(DType.BF16, c.dtype());
        assertEquals(1024, c.kvWidth());
        ModelConfig off = ModelConfig.parse("""
                {"model_type": "mistral", "sliding_window": null, "head_dim": 64}""", "m.json");
        assertEquals(0, off.slidingWindow());
        assertEquals(64, off.headDim());
        assertEquals("MistralForCausalLM", off.architecture());
    }

    @Test
    void llama3RopeScalingV4AndV5() {
        String v4 = """
                {"architectures": ["LlamaForCausalLM"], "rope_theta": 500000.0, "num_key_value_heads": 8,
                 "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                 "eos_token_id": [128001, 128008, 128009], "vocab_size": 128256}""";
        String v5 = """
                {"architectures": ["LlamaForCausalLM"], "num_key_value_heads": 8,
                 "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                   "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                 "eos_token_id": [128001, 128008, 128009], "vocab_size": 128256}""";
        for (String json : List.of(v4, v5)) {
            ModelConfig c = ModelConfig.parse(json, "c.json");
            assertEquals(500000.0, c.ropeTheta());
            assertEquals(RopeScaling.llama3(8, 1, 4, 8192), c.ropeScaling());
            assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        }
    }

    @Test
    void linearAndDynamicScaling() {
        assertEquals(RopeScaling.linear(2), ModelConfig.parse("""
                {"model_type": "llama", "rope_scaling": {"rope_type": "linear", "factor": 2.0}}""", "c").ropeScaling());
        assertEquals(RopeScaling.dynamic(4), ModelConfig.parse("""
                {"model_type": "llama", "rope_parameters": {"rope_type": "dynamic", "factor": 4, "rope_theta": 1e4}}""",
                "c").ropeScaling());
        assertEquals(RopeScaling.NONE, ModelConfig.parse("""
                {"model_type": "llama", "rope_parameters": {"rope_type": "default", "rope_theta": 1e6}}""", "c")
                .ropeScaling());
    }

    @Test
    void tiedEmbeddingsAndBiases() {
        ModelConfig c = ModelConfig.parse("""
                {"model_type": "llama", "tie_word_embeddings": true, "attention_bias": true, "mlp_bias": true}""", "c");
        assertTrue(c.tieWordEmbeddings());
        assertTrue(c.attentionBias());
        assertTrue(c.mlpBias());
        assertNull(c.dtype());
    }

    private static void assertRejected(String json, String... fragments) {
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> ModelConfig.parse(json, "dir/config.json"));
        assertTrue(e.getMessage().startsWith("dir/config.json"), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "message \"" + e.getMessage() + "\" lacks " + fragment);
        }
    }

    @Test
    void clearErrors() {
        assertRejected("""
                {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3"}""", "Phi3ForCausalLM", "not supported");
        assertRejected("""
                {"model_type": "gemma"}""", "gemma", "not supported");
        assertRejected("{}", "architectures");
        assertRejected("""
                {"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5}""", "num_key_value_heads");
        assertRejected("""
                {"model_type": "llama", "hidden_size": 100, "num_attention_heads": 3}""", "hidden_size", "100");
        assertRejected("""
                {"model_type": "llama", "hidden_size": -4096}""", "hidden_size", "positive");
        assertRejected("""
                {"model_type": "llama", "num_hidden_layers": 2.5}""", "num_hidden_layers", "integer");
        assertRejected("""
                {"model_type": "llama", "hidden_act": "gelu"}""", "gelu");
        assertRejected("""
                {"model_type": "llama", "rope_scaling": {"type": "yarn", "factor": 4}}""", "yarn");
        assertRejected("""
                {"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8}}""", "low_freq_factor");
        assertRejected("""
                {"model_type": "llama", "rope_scaling": {"rope_type": "linear", "factor": -1}}""", "factor");
        assertRejected("""
                {"model_type": "mistral", "sliding_window": 0}""", "sliding_window");
        assertRejected("[1, 2]", "object");
        assertRejected("{\"model_type\": ", "JSON");
    }
}

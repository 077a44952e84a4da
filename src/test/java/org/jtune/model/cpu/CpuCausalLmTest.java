package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelConfigException;
import org.jtune.model.RandomWeights;
import org.jtune.model.ReferenceModel;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.numericGradient;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The whole model against a double-precision reference: loss and logits forward, and every LoRA gradient against
 * central differences of the reference loss. Also: checkpointing gives bit-identical gradients.
 */
class CpuCausalLmTest extends TestFixture {
    static ModelConfig tinyMistral() {
        return ModelConfig.parse("""
                {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 29,
                 "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 4, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "sliding_window": 4, "max_position_embeddings": 64}""", "tiny mistral");
    }

    static ModelConfig tinyLlamaTiedWithBiases() {
        return ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 23,
                 "hidden_size": 12, "intermediate_size": 20, "num_hidden_layers": 2, "num_attention_heads": 3,
                 "num_key_value_heads": 3, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
                 "attention_bias": true, "mlp_bias": true, "max_position_embeddings": 64,
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, "rope_theta": 500000.0}""",
                "tiny llama");
    }

    /** Qwen2: q/k/v biases without an o bias, tied embeddings, a window on the second layer only. */
    static ModelConfig tinyQwen2() {
        return ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 27,
                 "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
                 "use_sliding_window": true, "sliding_window": 3, "max_window_layers": 1,
                 "max_position_embeddings": 64}""", "tiny qwen2");
    }

    /** Qwen3: per-head q/k norms, head_dim apart from hidden_size / heads. */
    static ModelConfig tinyQwen3() {
        return ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 25,
                 "hidden_size": 12, "intermediate_size": 20, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 6, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                 "max_position_embeddings": 64}""", "tiny qwen3");
    }

    /** Gemma 3: every difference at once, with a local layer, a global one and another local one. */
    static ModelConfig tinyGemma3() {
        return ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 31,
                 "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 2,
                 "num_key_value_heads": 1, "head_dim": 8, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 12,
                 "sliding_window": 4, "sliding_window_pattern": 2, "rope_theta": 1000000.0,
                 "rope_local_base_freq": 100.0, "rope_scaling": {"rope_type": "linear", "factor": 4.0},
                 "max_position_embeddings": 64}""", "tiny gemma3");
    }

    private Batch packedBatch(int vocab, int rows, int len) {
        int[][] tokens = new int[rows][len], labels = new int[rows][len], docs = new int[rows][len];
        for (int b = 0; b < rows; b++) {
            int doc = 0;
            for (int t = 0; t < len; t++) {
                if (t > 0 && rnd.nextInt(4) == 0) {
                    doc++;
                }
                docs[b][t] = doc;
                tokens[b][t] = rnd.nextInt(vocab);
                labels[b][t] = rnd.nextInt(5) == 0 ? -100 : tokens[b][t];
            }
        }
        return Batch.packed(tokens, labels, docs);
    }

    private LoraAdapters randomAdapters(ModelConfig c, LoraConfig lc) {
        LoraAdapters lora = new LoraAdapters(c, lc, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        return lora;
    }

    private static Map<String, double[]> values(LoraAdapters lora) {
        Map<String, double[]> m = new HashMap<>();
        for (String name : lora.names()) {
            m.put(name, toDoubles(lora.tensor(name).toFloatArray()));
        }
        return m;
    }

    private void checkAgainstReference(ModelConfig c, DType weightType, LoraConfig lc, boolean checkpointing) {
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, weightType, 0.3, seed, arena));
        LoraAdapters lora = randomAdapters(c, lc);
        Batch batch = packedBatch(c.vocabSize(), 2, 9);
        String what = c.architecture() + " " + weightType + (checkpointing ? " checkpointed" : "")
                + " seed " + seed;
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), 2, 9, checkpointing)) {
            Tensor logits = Tensor.f32(arena, batch.tokenCount(), c.vocabSize());
            float loss = model.forward(batch, logits);
            lora.zeroGradients();
            model.backward();

            ReferenceModel ref = new ReferenceModel(c, w, lc.scaling(), batch);
            Map<String, double[]> base = values(lora);
            double refLoss = ref.loss(base);
            assertEquals(refLoss, loss, 1e-5 * Math.abs(refLoss), what + ": loss");
            assertClose(what + ": logits", seed, ref.logits(base), logits.toFloatArray(), 1e-5, 1e-5);

            for (String name : lora.names()) {
                double[] g = numericGradient(base.get(name), x -> {
                    Map<String, double[]> probe = new HashMap<>(base);
                    probe.put(name, x);
                    return ref.loss(probe);
                });
                assertClose(what + ": gradient of " + name, seed, g, lora.gradient(name).toFloatArray(), 1e-3, 1e-4);
            }
        }
    }

    @Test
    void mistralGqaWindowPackedMatchesReference() {
        checkAgainstReference(tinyMistral(), DType.F32, LoraConfig.allProjections(2, 4, false), false);
    }

    @Test
    void llamaTiedBiasesLlama3RopeRsloraBf16MatchesReference() {
        checkAgainstReference(tinyLlamaTiedWithBiases(), DType.BF16, LoraConfig.allProjections(3, 8, true), false);
    }

    @Test
    void qwen2MatchesReference() {
        checkAgainstReference(tinyQwen2(), DType.F32, LoraConfig.allProjections(2, 4, false), false);
    }

    @Test
    void qwen3MatchesReference() {
        checkAgainstReference(tinyQwen3(), DType.BF16, LoraConfig.allProjections(2, 4, false), false);
    }

    @Test
    void gemma3MatchesReference() {
        checkAgainstReference(tinyGemma3(), DType.F32, LoraConfig.allProjections(2, 4, false), false);
    }

    @Test
    void checkpointedFamiliesMatchReference() {
        checkAgainstReference(tinyQwen3(), DType.F32, LoraConfig.allProjections(2, 4, false), true);
        checkAgainstReference(tinyGemma3(), DType.BF16, LoraConfig.allProjections(2, 4, false), true);
    }

    @Test
    void checkpointedModelMatchesReference() {
        checkAgainstReference(tinyMistral(), DType.F16, LoraConfig.allProjections(2, 4, false), true);
    }

    @Test
    void checkpointingGivesIdenticalLossAndGradients() {
        ModelConfig c = tinyMistral();
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.BF16, 0.3, seed, arena));
        LoraConfig lc = new LoraConfig(3, 6, false, java.util.EnumSet.of(LoraTarget.Q, LoraTarget.V,
                LoraTarget.DOWN));
        LoraAdapters lora = randomAdapters(c, lc);
        Batch batch = packedBatch(c.vocabSize(), 3, 11);
        Map<String, float[]> plain = new HashMap<>();
        float plainLoss;
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), 3, 11, false)) {
            lora.zeroGradients();
            plainLoss = model.forward(batch);
            model.backward();
            for (String name : lora.names()) {
                plain.put(name, lora.gradient(name).toFloatArray());
            }
        }
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), 4, 12, true)) {
            lora.zeroGradients();
            assertEquals(plainLoss, model.forward(batch), "loss with checkpointing, seed " + seed);
            model.backward();
            for (String name : lora.names()) {
                assertArrayEquals(plain.get(name), lora.gradient(name).toFloatArray(),
                        "gradient of " + name + " with checkpointing, seed " + seed);
                boolean nonZero = false;
                for (float v : plain.get(name)) {
                    nonZero |= v != 0;
                }
                assertTrue(nonZero, name + " gradient is all zero, seed " + seed);
            }
        }
    }

    @Test
    void gradientsAccumulateOverCalls() {
        ModelConfig c = tinyMistral();
        ModelWeights w = ModelWeights.load(c, RandomWeights.create(c, DType.F32, 0.3, seed, arena));
        LoraAdapters lora = randomAdapters(c, LoraConfig.allProjections(2, 4, false));
        Batch batch = packedBatch(c.vocabSize(), 1, 6);
        try (CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), 1, 6, false)) {
            lora.zeroGradients();
            model.forward(batch);
            model.backward();
            String name = lora.names().get(0);
            float[] once = lora.gradient(name).toFloatArray();
            model.forward(batch);
            model.backward();
            float[] twice = lora.gradient(name).toFloatArray();
            for (int i = 0; i < once.length; i++) {
                assertEquals(2 * once[i], twice[i], 1e-6 * Math.abs(once[i]) + 1e-12, "element " + i);
            }
            assertThrows(IllegalStateException.class, model::backward);
        }
    }

    @Test
    void badInputsAreRejected() {
        ModelConfig c = tinyMistral();
        WeightSource src = RandomWeights.create(c, DType.F32, 0.3, seed, arena);
        ModelWeights w = ModelWeights.load(c, src);
        try (CpuCausalLm model = new CpuCausalLm(c, w, null, new CpuOps(), 1, 4, false)) {
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(Batch.of(new int[][] {{1, 2, 3, 4, 5}}, new int[][] {{1, 2, 3, 4, 5}})));
            assertTrue(big.getMessage().contains("exceeds"), big.getMessage());
            IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(Batch.of(new int[][] {{1, 2, 3}}, new int[][] {{1, 99, 3}})));
            assertTrue(label.getMessage().contains("99"), label.getMessage());
            float loss = model.forward(Batch.of(new int[][] {{1, 2, 3}}, new int[][] {{1, -100, -100}}));
            assertEquals(0f, loss, "no labelled tokens");
        }
        Map<String, Tensor> wrong = new HashMap<>();
        for (String name : src.names()) {
            wrong.put(name, src.tensor(name));
        }
        wrong.put("model.layers.1.mlp.up_proj.weight", Tensor.f32(arena, 24, 15));
        ModelConfigException e = assertThrows(ModelConfigException.class,
                () -> ModelWeights.load(c, WeightSource.of(wrong, "ckpt/model.safetensors")));
        assertTrue(e.getMessage().contains("ckpt/model.safetensors") && e.getMessage().contains("up_proj")
                && e.getMessage().contains("[24, 15]"), e.getMessage());
        wrong.remove("model.norm.weight");
        wrong.put("model.layers.1.mlp.up_proj.weight", src.tensor("model.layers.1.mlp.up_proj.weight"));
        e = assertThrows(ModelConfigException.class, () -> ModelWeights.load(c, WeightSource.of(wrong, "x")));
        assertTrue(e.getMessage().contains("missing tensor model.norm.weight"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Batch.packed(new int[][] {{1, 2, 3}},
                new int[][] {{1, 2, 3}}, new int[][] {{0, 1, 0}}));
        if (c.numLayers() != 2) {
            fail("tiny config changed");
        }
    }
}

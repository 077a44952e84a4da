package org.jtune.bench;

import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.gpu.BaseFormat;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuCausalLm;
import org.jtune.model.gpu.ProjectionFormat;
import org.jtune.model.gpu.StepShape;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The train benchmark's shapes, without a GPU: which run by default, what --shape names, and their weights. */
class TrainBenchmarkShapesTest {

    @Test
    void theLlamaShapesRunByDefaultAndTheQwenShapesWhenNamed() {
        assertEquals(List.of("llama2_7b", "mistral_7b", "llama3_8b"),
                TrainBenchmark.shapes(List.of()).stream().map(TrainBenchmark.Shape::name).toList());
        List<TrainBenchmark.Shape> qwen = TrainBenchmark.shapes(List.of("qwen2.5-7b", "qwen3-8b", "qwen2.5-7b"));
        assertEquals(List.of("qwen2_5_7b", "qwen3_8b"), qwen.stream().map(TrainBenchmark.Shape::name).toList());
        ModelConfig qwen2 = qwen.get(0).config(), qwen3 = qwen.get(1).config();
        assertEquals(List.of(3584, 18944, 28, 28, 4, 128, 152064), List.of(qwen2.hiddenSize(),
                qwen2.intermediateSize(), qwen2.numLayers(), qwen2.numHeads(), qwen2.numKvHeads(), qwen2.headDim(),
                qwen2.vocabSize()), "Qwen2.5-7B");
        assertTrue(qwen2.qkvBias() && qwen2.windowOf(27) == 0, "Qwen2.5-7B: q/k/v biases, no window");
        assertEquals(List.of(4096, 12288, 36, 32, 8, 128, 151936), List.of(qwen3.hiddenSize(),
                qwen3.intermediateSize(), qwen3.numLayers(), qwen3.numHeads(), qwen3.numKvHeads(), qwen3.headDim(),
                qwen3.vocabSize()), "Qwen3-8B");
        assertTrue(qwen3.design().qkNorm(), "Qwen3-8B: q/k norms");
        for (TrainBenchmark.Shape shape : qwen) {
            ModelConfig c = shape.config();
            GpuCausalLm.plan(c, BaseFormat.uniform(c, new ProjectionFormat.Bf16()), TrainBenchmark.LORA,
                    new StepShape(2, 2048, 1), Checkpointing.ON);
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> TrainBenchmark.shapes(List.of("gemma3-12b")));
        assertTrue(unknown.getMessage().contains("no train shape \"gemma3-12b\"")
                && unknown.getMessage().contains("qwen3-8b"), unknown.getMessage());
    }

    /** The shared random weights hold what each family's config calls for (checked by loading them). */
    @Test
    void sharedRandomWeightsHoldTheFamilysBiasesAndNorms() {
        ModelConfig qwen2 = ModelConfig.parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 64, "hidden_size": 64,
                 "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2}""", "small qwen2");
        ModelConfig qwen3 = ModelConfig.parse("""
                {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 64, "hidden_size": 64,
                 "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "head_dim": 32}""", "small qwen3");
        try (Arena arena = Arena.ofConfined()) {
            ModelWeights w2 = ModelWeights.load(qwen2, TrainBenchmark.sharedRandomWeights(qwen2, arena));
            ModelWeights w3 = ModelWeights.load(qwen3, TrainBenchmark.sharedRandomWeights(qwen3, arena));
            for (ModelWeights.Layer layer : w2.layers()) {
                assertEquals(List.of(64L, 32L, 32L), List.of(layer.qBias().size(), layer.kBias().size(),
                        layer.vBias().size()), "qwen2 biases");
                assertNull(layer.qNorm());
            }
            for (ModelWeights.Layer layer : w3.layers()) {
                assertNotNull(layer.qNorm());
                assertEquals(32, layer.kNorm().size(), "qwen3 k norm");
                assertNull(layer.qBias());
            }
        }
    }
}

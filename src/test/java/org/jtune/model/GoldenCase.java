package org.jtune.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One golden folder (config.json, model.safetensors, the PEFT adapter, inputs.json, expected.safetensors) run
 * through the CPU engine: the loss, every logit and every LoRA gradient against the expected ones.
 */
final class GoldenCase {
    private static final double LOSS_RTOL = 1e-5, RTOL = 1e-4, ATOL = 1e-4;

    private GoldenCase() {}

    /** Checks the folder's case; {@code what} names it in failures. */
    static void check(Path dir, String what, boolean checkpointing) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (Arena arena = Arena.ofShared()) {
            ModelConfig config = ModelConfig.load(dir.resolve("config.json"));
            Map<String, Tensor> weights = TestSafetensors.read(dir.resolve("model.safetensors"), arena);
            ModelWeights w = ModelWeights.load(config, WeightSource.of(weights, dir + "/model.safetensors"));

            JsonNode ac = json.readTree(dir.resolve("adapter_config.json").toFile());
            Set<LoraTarget> targets = EnumSet.noneOf(LoraTarget.class);
            ac.get("target_modules").forEach(t -> targets.add(LoraTarget.fromModuleName(t.asText())));
            LoraConfig lc = new LoraConfig(ac.get("r").asInt(), ac.get("lora_alpha").asDouble(),
                    ac.path("use_rslora").asBoolean(false), targets);
            LoraAdapters lora = new LoraAdapters(config, lc, arena);
            Map<String, Tensor> adapter = TestSafetensors.read(dir.resolve("adapter_model.safetensors"), arena);
            assertEquals(Set.copyOf(lora.names()), adapter.keySet(), what + ": adapter tensor names");
            for (String n : lora.names()) {
                lora.tensor(n).copyFrom(adapter.get(n));
            }

            JsonNode in = json.readTree(dir.resolve("inputs.json").toFile());
            Batch batch = Batch.withPositions(ints(in.get("input_ids")), ints(in.get("labels")),
                    ints(in.get("position_ids")), ints(in.get("document_ids")));
            Map<String, Tensor> expected = TestSafetensors.read(dir.resolve("expected.safetensors"), arena);

            try (CpuCausalLm model = new CpuCausalLm(config, w, lora, new CpuOps(), batch.batchSize(), batch.seqLen(),
                    checkpointing)) {
                Tensor logits = Tensor.f32(arena, batch.tokenCount(), config.vocabSize());
                lora.zeroGradients();
                float loss = model.forward(batch, logits);
                model.backward();
                double expectedLoss = expected.get("loss").get(0);
                assertEquals(expectedLoss, loss, LOSS_RTOL * Math.abs(expectedLoss), what + ": loss");
                float[] expectedLogits = expected.get("logits").toFloatArray();
                assertEquals((long) batch.tokenCount() * config.vocabSize(), expectedLogits.length,
                        what + ": logits count");
                assertClose(what + ": logits", 0, toDoubles(expectedLogits), logits.toFloatArray(), RTOL, ATOL);
                int checked = 0;
                for (String n : lora.names()) {
                    assertTrue(expected.containsKey(n), what + ": no expected gradient for " + n);
                    assertClose(what + ": gradient of " + n, 0, toDoubles(expected.get(n).toFloatArray()),
                            lora.gradient(n).toFloatArray(), RTOL, ATOL);
                    checked++;
                }
                assertEquals(2L * config.numLayers() * targets.size(), checked, what + ": gradients checked");
            }
        }
    }

    private static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int b = 0; b < out.length; b++) {
            out[b] = new int[rows.get(b).size()];
            for (int t = 0; t < out[b].length; t++) {
                out[b][t] = rows.get(b).get(t).asInt();
            }
        }
        return out;
    }
}

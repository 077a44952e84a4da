package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.data.PreferenceBatch;
import org.jtune.io.SafetensorsFile;
import org.jtune.model.Batch;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelLoader;
import org.jtune.model.cpu.CpuEngine;
import org.jtune.testing.TestEngines;
import org.jtune.testing.TestResources;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One DPO step against PyTorch + PEFT with TRL's loss formulas: the loss, the policy's and the reference's
 * sequence log-probabilities and every LoRA gradient, for each loss type, on the tiny model written by
 * {@code src/test/python/make_dpo_goldens.py}. Skips when the golden files have not been generated.
 */
class DpoGoldenTest {
    private static final String FOLDER = "/org/jtune/train/golden/dpo_llama";
    private static final double RTOL = 1e-4, ATOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"sigmoid", "sigmoid_smoothed", "ipo", "hinge"})
    void matchesPeftWithTrlLosses(String name) throws IOException {
        Optional<Path> folder = TestResources.folder(FOLDER);
        Assumptions.assumeTrue(folder.isPresent(), "DPO golden files not generated: run"
                + " src/test/python/make_dpo_goldens.py (needs torch, transformers, peft) and commit " + FOLDER);
        Path dir = folder.get();
        JsonNode spec = new ObjectMapper().readTree(dir.resolve("pairs.json").toFile());
        JsonNode c = spec.get("cases").get(name);
        DpoArguments dpo = new DpoArguments(c.get("beta").asDouble(), DpoLossType.fromName(c.get("loss_type").asText()),
                c.get("label_smoothing").asDouble(), false);
        PreferenceBatch pb = collate(spec.get("pairs"), spec.get("pad_token_id").asInt());
        Batch batch = DpoObjective.toModelBatch(pb);

        try (Arena arena = Arena.ofShared(); LoadedModel base = ModelLoader.load(dir, LoadOptions.asStored());
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected-" + name + ".safetensors"))) {
            LoraAdapters lora = AdapterFiles.load(dir, base.config(), arena);
            for (boolean checkpointing : new boolean[] {false, true}) {
                String what = name + (checkpointing ? " (checkpointing)" : "");
                try (CpuEngine model = TestEngines.cpu(base.config(), base.weights(), lora, batch.batchSize(),
                        batch.seqLen(), checkpointing)) {
                    Objective.Step step = new DpoObjective(dpo).accumulate(model, List.of(pb));
                    double expectedLoss = expected.readFloats("loss")[0];
                    assertEquals(expectedLoss, step.loss(), RTOL * Math.abs(expectedLoss), what + ": loss");
                    for (String n : lora.names()) {
                        assertClose(what + ": gradient of " + n, 0, toDoubles(expected.readFloats(n)),
                                lora.gradient(n).toFloatArray(), RTOL, ATOL);
                    }
                    assertClose(what + ": policy log p", 0, toDoubles(expected.readFloats("policy_logps")),
                            floats(model.policyLogProbs(batch)), RTOL, 0);
                    assertClose(what + ": reference log p", 0, toDoubles(expected.readFloats("reference_logps")),
                            floats(model.referenceLogProbs(batch)), RTOL, 0);
                }
            }
        }
    }

    /** The generator's layout (TRL's): prompt + chosen rows, then prompt + rejected rows, right-padded. */
    private static PreferenceBatch collate(JsonNode pairs, int pad) {
        int n = pairs.size(), width = 0;
        for (JsonNode p : pairs) {
            width = Math.max(width, p.get("prompt").size() + Math.max(p.get("chosen").size(), p.get("rejected").size()));
        }
        int[] ids = new int[2 * n * width], labels = new int[2 * n * width], lengths = new int[2 * n];
        Arrays.fill(ids, pad);
        Arrays.fill(labels, -100);
        for (int i = 0; i < n; i++) {
            JsonNode p = pairs.get(i);
            lengths[i] = place(p.get("prompt"), p.get("chosen"), ids, labels, i * width);
            lengths[n + i] = place(p.get("prompt"), p.get("rejected"), ids, labels, (n + i) * width);
        }
        int[] examples = new int[n];
        Arrays.setAll(examples, i -> i);
        return new PreferenceBatch(n, width, ids, labels, lengths, examples);
    }

    private static int place(JsonNode prompt, JsonNode completion, int[] ids, int[] labels, int at) {
        int k = at;
        for (JsonNode t : prompt) {
            ids[k++] = t.asInt();
        }
        for (JsonNode t : completion) {
            labels[k] = t.asInt();
            ids[k++] = t.asInt();
        }
        return prompt.size() + completion.size();
    }

    private static float[] floats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}

package org.jtune.train;

import org.jtune.io.LoraModuleWeights;
import org.jtune.io.PeftAdapter;
import org.jtune.io.PeftAdapterConfig;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.backend.Backend;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PEFT adapter folders: adapters written by PEFT load and give PEFT's losses; ours round-trip and read as PEFT's. */
class AdapterFilesTest extends TestFixture {
    /** These tests check the CPU engine\'s numbers: they train on the CPU even where a GPU is present. */
    private static final Backend CPU = Backend.cpu("test");

    static String[] goldenCases() {
        return Golden.CASES;
    }

    @ParameterizedTest
    @MethodSource("goldenCases")
    void peftAdaptersLoadAndGiveTheGoldenLossAndTrainOn(String name) throws IOException, URISyntaxException {
        Path dir = Golden.folder(name);
        ModelConfig config = ModelConfig.load(dir.resolve("config.json"));
        LoraAdapters lora = AdapterFiles.load(dir, config, arena);
        Batch batch = Golden.batch(dir);
        double expected = Golden.loss(dir);
        try (CheckpointWeights w = new CheckpointWeights(dir)) {
            ModelWeights weights = ModelWeights.load(config, w.source);
            try (CpuCausalLm model = new CpuCausalLm(config, weights, lora, new CpuOps(), batch.batchSize(),
                    batch.seqLen(), false)) {
                assertEquals(expected, model.forward(batch), 1e-5 * expected, name + ": loss");
            }
            float[] before = lora.tensor(lora.names().get(0)).toFloatArray();
            List<Double> losses = new ArrayList<>();
            TrainingArguments args = TrainingArguments.builder().perDeviceTrainBatchSize(batch.batchSize())
                    .gradientAccumulationSteps(1).maxSteps(2).warmupSteps(0).learningRate(1e-2).progressBar(false)
                    .build();
            Trainer.sft(CPU, config, weights, lora, batch.seqLen(), args,
                    new ListBatchSource<>(List.of(batch), false), null).addListener(new TrainingListener() {
                        @Override
                        public void onStep(StepProgress p) {
                            losses.add(p.loss());
                        }
                    }).train();
            assertEquals(expected, losses.get(0), 1e-5 * expected, name + ": first training step's loss");
            assertTrue(losses.get(1) < losses.get(0), name + ": training on from the adapter lowers the loss "
                    + losses);
            assertNotEquals(before[0], lora.tensor(lora.names().get(0)).get(0));
        }
    }

    @Test
    void roundTripAndPeftLayout() throws IOException {
        for (boolean rslora : new boolean[] {false, true}) {
            LoraConfig lc = new LoraConfig(3, 5, rslora, EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.DOWN));
            ModelConfig c = TinyModel.CONFIG;
            LoraAdapters lora = new LoraAdapters(c, lc, arena);
            for (String n : lora.names()) {
                for (long i = 0; i < lora.tensor(n).size(); i++) {
                    lora.tensor(n).set(i, (float) rnd.nextGaussian());
                }
            }
            Path dir = temp.resolve("adapter-" + rslora);
            AdapterFiles.save(lora, c, dir, "tiny/base");

            PeftAdapter read = PeftAdapterFiles.read(dir);
            PeftAdapterConfig pc = read.config();
            assertEquals(3, pc.r());
            assertEquals(5.0, pc.loraAlpha());
            assertEquals(rslora, pc.useRslora());
            assertEquals("CAUSAL_LM", pc.taskType());
            assertEquals("tiny/base", pc.baseModelNameOrPath());
            assertEquals(Set.of("q_proj", "v_proj", "down_proj"), Set.copyOf(pc.targetModules().names()));
            assertEquals(2 * 3, read.modules().size());
            LoraModuleWeights q1 = read.modules().get("model.layers.1.self_attn.q_proj");
            assertArrayEquals(lora.adapter(1, LoraTarget.Q).a().toFloatArray(), q1.a(), 0f);
            assertArrayEquals(lora.adapter(1, LoraTarget.Q).b().toFloatArray(), q1.b(), 0f);
            assertEquals(c.qWidth(), q1.outFeatures());

            LoraAdapters back = AdapterFiles.load(dir, c, arena);
            assertEquals(lc, back.config());
            for (String n : lora.names()) {
                assertArrayEquals(lora.tensor(n).toFloatArray(), back.tensor(n).toFloatArray(), 0f, n);
            }
            String json = Files.readString(dir.resolve("adapter_config.json"));
            assertTrue(json.contains("\"peft_type\": \"LORA\""), json);
        }
    }

    private Path writeAdapter(String folder, PeftAdapterConfig config, int rank) throws IOException {
        ModelConfig c = TinyModel.CONFIG;
        List<LoraModuleWeights> modules = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            for (LoraTarget t : List.of(LoraTarget.Q, LoraTarget.V)) {
                String path = AdapterFiles.modulePath(l, t);
                if (!config.targets(path)) {
                    continue;
                }
                int r = config.rank(path);
                modules.add(new LoraModuleWeights(path, r, t.inFeatures(c), t.outFeatures(c),
                        new float[r * t.inFeatures(c)], new float[t.outFeatures(c) * r]));
            }
        }
        Path dir = temp.resolve(folder);
        PeftAdapterFiles.write(dir, config, modules);
        return dir;
    }

    @Test
    void refusesAdaptersTheModelCannotApply() throws IOException {
        PeftAdapterConfig base = PeftAdapterConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj")
                .build();
        Path perModuleRank = writeAdapter("rank", base.toBuilder().rankPattern(Map.of("v_proj", 2)).build(), 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdapterFiles.load(perModuleRank, TinyModel.CONFIG, arena));
        assertTrue(e.getMessage().contains("rank_pattern"), e.getMessage());

        Path someLayers = writeAdapter("layers", base.toBuilder().layersToTransform(List.of(1)).build(), 4);
        e = assertThrows(IllegalArgumentException.class, () -> AdapterFiles.load(someLayers, TinyModel.CONFIG, arena));
        assertTrue(e.getMessage().contains("layer 1"), e.getMessage());

        Path good = writeAdapter("good", base, 4);
        ModelConfig wider = ModelConfig.parse("""
                {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 29,
                 "hidden_size": 32, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 4, "max_position_embeddings": 64}""", "wider");
        e = assertThrows(IllegalArgumentException.class, () -> AdapterFiles.load(good, wider, arena));
        assertTrue(e.getMessage().contains("another model"), e.getMessage());

        LoraAdapters other = new LoraAdapters(TinyModel.CONFIG, LoraConfig.allProjections(4, 8, false), arena);
        e = assertThrows(IllegalArgumentException.class, () -> AdapterFiles.loadInto(good, other, TinyModel.CONFIG));
        assertTrue(e.getMessage().contains("the model's adapters have"), e.getMessage());
    }

    @Test
    void peftDefaultTargetsWhenUnset() throws IOException {
        PeftAdapterConfig unset = PeftAdapterConfig.builder().r(2).loraAlpha(4).build();
        LoraConfig lc = AdapterFiles.loraConfig(unset, TinyModel.CONFIG, temp);
        assertEquals(EnumSet.of(LoraTarget.Q, LoraTarget.V), lc.targets());
        PeftAdapterConfig allLinear = PeftAdapterConfig.builder().r(2).loraAlpha(4)
                .targetModules(org.jtune.io.ModuleSelector.regex("all-linear")).build();
        assertEquals(EnumSet.allOf(LoraTarget.class),
                AdapterFiles.loraConfig(allLinear, TinyModel.CONFIG, temp).targets());
    }
}

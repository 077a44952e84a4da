package org.jtune.train;

import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelConfigJson;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Merged checkpoints: same logits as base + adapter, bf16 values against a double reference, shards, config.json. */
class MergedModelWriterTest extends TestFixture {
    private static final Pattern LAYER_WEIGHT = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.weight");

    private float[] logits(ModelConfig config, ModelWeights weights, LoraAdapters lora, Batch batch) {
        Tensor out = Tensor.f32(arena, batch.tokenCount(), config.vocabSize());
        try (CpuCausalLm model = new CpuCausalLm(config, weights, lora, new CpuOps(), batch.batchSize(), batch.seqLen(),
                false)) {
            model.forward(batch, out);
        }
        return out.toFloatArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama_mha", "llama_tied", "mistral_gqa_window", "llama_rslora"})
    void mergedWeightsGiveTheLogitsOfBasePlusAdapter(String name) throws IOException, URISyntaxException {
        Path dir = Golden.folder(name);
        ModelConfig config = ModelConfig.load(dir.resolve("config.json"));
        LoraAdapters lora = AdapterFiles.load(dir, config, arena);
        Batch batch = Golden.batch(dir);
        Path merged = temp.resolve(name);
        float[] expected;
        try (CheckpointWeights base = new CheckpointWeights(dir)) {
            expected = logits(config, ModelWeights.load(config, base.source), lora, batch);
            MergedModelWriter.write(merged, config, base.source, lora, DType.F32,
                    new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("config.json").toFile()),
                    org.jtune.io.SafetensorsCheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
            try (CheckpointWeights written = new CheckpointWeights(merged)) {
                assertEquals(base.source.names(), written.source.names());
            }
        }
        ModelConfig mergedConfig = ModelConfig.load(merged.resolve("config.json"));
        assertEquals(config, mergedConfig);
        try (CheckpointWeights w = new CheckpointWeights(merged)) {
            float[] actual = logits(mergedConfig, ModelWeights.load(mergedConfig, w.source), null, batch);
            double largestDifference = 0;
            for (int i = 0; i < expected.length; i++) {
                assertTrue(Math.abs(actual[i] - expected[i]) <= 1e-4 * Math.abs(expected[i]) + 1e-5,
                        name + ": logit " + i + " " + actual[i] + " vs " + expected[i]);
                largestDifference = Math.max(largestDifference, Math.abs(actual[i] - expected[i]));
            }
            float[] baseOnly;
            try (CheckpointWeights b = new CheckpointWeights(dir)) {
                baseOnly = logits(config, ModelWeights.load(config, b.source), null, batch);
            }
            double adapterEffect = 0;
            for (int i = 0; i < expected.length; i++) {
                adapterEffect = Math.max(adapterEffect, Math.abs(baseOnly[i] - expected[i]));
            }
            assertTrue(adapterEffect > 100 * largestDifference + 1e-3, name + ": the adapter changes the logits by "
                    + adapterEffect + ", the merge is off by " + largestDifference);
        }
    }

    @Test
    void bf16ValuesAreTheRoundedExactMerge() throws IOException {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        Path out = temp.resolve("bf16");
        MergedModelWriter.write(out, TinyModel.CONFIG, m.source, lora, DType.BF16, null, 1L << 30);
        double scaling = 8.0 / 4;
        int checked = 0;
        try (CheckpointWeights w = new CheckpointWeights(out)) {
            for (String name : m.source.names()) {
                Tensor base = m.source.tensor(name), merged = w.source.tensor(name);
                assertEquals(DType.BF16, merged.dtype(), name);
                assertArrayEquals(base.shape(), merged.shape(), name);
                Matcher match = LAYER_WEIGHT.matcher(name);
                LoraAdapters.Adapter ad = match.matches() ? adapterOf(lora, match) : null;
                for (long i = 0; i < base.size(); i++) {
                    double expected = base.get(i);
                    if (ad != null) {
                        long in = base.dim(1), o = i / in, c = i % in;
                        double delta = 0;
                        for (int r = 0; r < ad.a().dim(0); r++) {
                            delta += (double) ad.b().get(o * ad.a().dim(0) + r) * ad.a().get(r * in + c);
                        }
                        expected += scaling * delta;
                    }
                    // bf16 keeps 8 significant bits: rounding to nearest is off by at most half a unit in the last
                    // place, 2^(e-8) for a value in [2^e, 2^(e+1)), so within 2^-8 of its magnitude (plus the float
                    // rounding on the way, 2^-24)
                    assertTrue(Math.abs(merged.get(i) - expected) <= Math.scalb(Math.abs(expected), -8) * (1 + 0x1p-15),
                            "seed " + seed + ": " + name + "[" + i + "] " + merged.get(i) + " vs " + expected);
                    checked++;
                }
            }
        }
        assertTrue(checked > 1000);
        assertFalse(Files.exists(out.resolve(".merged-weights.scratch")));
    }

    private static LoraAdapters.Adapter adapterOf(LoraAdapters lora, Matcher m) {
        for (LoraTarget t : LoraTarget.values()) {
            if (t.modulePath().equals(m.group(2))) {
                return lora.adapter(Integer.parseInt(m.group(1)), t);
            }
        }
        return null;
    }

    @Test
    void largeModelsAreSharded() throws IOException {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        Path single = temp.resolve("single"), sharded = temp.resolve("sharded");
        MergedModelWriter.write(single, TinyModel.CONFIG, m.source, lora, DType.BF16, null, 1L << 30);
        MergedModelWriter.write(sharded, TinyModel.CONFIG, m.source, lora, DType.BF16, null, 2048);
        assertTrue(Files.exists(sharded.resolve(SafetensorsCheckpoint.INDEX_FILE)));
        assertFalse(Files.exists(sharded.resolve(SafetensorsCheckpoint.SINGLE_FILE)));
        try (CheckpointWeights a = new CheckpointWeights(single); CheckpointWeights b = new CheckpointWeights(sharded)) {
            assertEquals(a.source.names(), b.source.names());
            for (String name : a.source.names()) {
                assertArrayEquals(a.source.tensor(name).toFloatArray(), b.source.tensor(name).toFloatArray(), 0f, name);
            }
        }
        try (var files = Files.list(sharded)) {
            assertTrue(files.filter(p -> p.getFileName().toString().startsWith("model-000")).count() > 2);
        }
    }

    @Test
    void writtenConfigReadsBackAsTheSameModel() throws IOException, URISyntaxException {
        ModelConfig llama3 = ModelConfig.load(Golden.folder("llama3_rope").resolve("config.json"));
        for (ModelConfig c : new ModelConfig[] {TinyModel.CONFIG, llama3}) {
            Path file = temp.resolve("config-" + c.modelType() + ".json");
            Files.writeString(file, ModelConfigJson.write(c, DType.BF16, null).toString());
            ModelConfig back = ModelConfig.load(file);
            assertEquals(new ModelConfig(c.architecture(), c.modelType(), c.vocabSize(), c.hiddenSize(),
                    c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(),
                    c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(), c.slidingWindow(),
                    c.tieWordEmbeddings(), c.attentionBias(), c.mlpBias(), c.bosTokenId(), c.eosTokenIds(),
                    DType.BF16), back);
        }
    }

    @Test
    void refusesQuantizedOrMissingWeights() {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        var names = new java.util.HashMap<String, Tensor>();
        m.source.names().forEach(n -> names.put(n, m.source.tensor(n)));
        names.remove("model.layers.1.mlp.up_proj.weight");
        var missing = org.jtune.model.WeightSource.of(names, "partial weights");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MergedModelWriter.write(
                temp.resolve("x"), TinyModel.CONFIG, missing, lora, DType.BF16, null, 1L << 30));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.up_proj.weight"), e.getMessage());
        names.put("model.layers.1.mlp.up_proj.weight", Tensor.allocate(arena, DType.I32, 24, 16));
        var quantized = org.jtune.model.WeightSource.of(names, "int weights");
        e = assertThrows(IllegalArgumentException.class, () -> MergedModelWriter.write(
                temp.resolve("y"), TinyModel.CONFIG, quantized, lora, DType.BF16, null, 1L << 30));
        assertTrue(e.getMessage().contains("unquantized"), e.getMessage());
    }
}

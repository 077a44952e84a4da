package org.jtune.model;

import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.TensorData;
import org.jtune.io.TensorInfo;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading HF model folders as stored: zero-copy views of the files, and errors that name file and tensor. */
class ModelLoaderTest {
    private final long seed = System.nanoTime();

    @TempDir
    Path dir;

    private static void assertMessage(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "\"" + part + "\" not in: " + e.getMessage());
        }
    }

    @Test
    void denseWeightsAreTheFileBytesSingleOrSharded() throws IOException {
        Path single = dir.resolve("single"), sharded = dir.resolve("sharded");
        ModelFolders.writeRandom(single, ModelFolders.LLAMA, DType.BF16, seed);
        List<TensorData> tensors = new ArrayList<>();
        try (SafetensorsFile file = SafetensorsFile.open(single.resolve(SafetensorsCheckpoint.SINGLE_FILE));
             LoadedModel model = ModelLoader.load(single, LoadOptions.asStored())) {
            for (String name : file.names()) {
                TensorInfo info = file.info(name);
                tensors.add(new TensorData(name, info.dtype(), info.shape(), file.data(name)));
            }
            SafetensorsCheckpointWriter.write(sharded, tensors, 10_000);
            Files.copy(single.resolve(ModelLoader.CONFIG_FILE), sharded.resolve(ModelLoader.CONFIG_FILE));
            try (LoadedModel shardedModel = ModelLoader.load(sharded, LoadOptions.asStored())) {
                for (LoadedModel m : List.of(model, shardedModel)) {
                    Tensor up = ((FrozenLinearWeight.Dense) m.weights().layers().get(1).projection(LoraTarget.UP))
                            .tensor();
                    assertEquals(-1L, up.segment().mismatch(file.data("model.layers.1.mlp.up_proj.weight")));
                    assertEquals(DType.BF16, up.dtype());
                    assertEquals(-1L, m.weights().lmHead().segment().mismatch(file.data("lm_head.weight")));
                    assertEquals(0, m.weights().dequantScratchBytes(), "nothing to dequantize");
                }
            }
        }
        assertTrue(Files.exists(sharded.resolve(SafetensorsCheckpoint.INDEX_FILE)), "sharded");
    }

    @Test
    void missingOrMisShapedTensorsAreNamedWithTheirFile() throws IOException {
        Path source = dir.resolve("source");
        ModelFolders.writeRandom(source, ModelFolders.LLAMA, DType.BF16, seed);
        String up = "model.layers.1.mlp.up_proj.weight";

        Path missing = dir.resolve("missing");
        ModelFolders.copyEdited(source, missing, t -> t.remove(up));
        ModelConfigException e = assertThrows(ModelConfigException.class,
                () -> ModelLoader.load(missing, LoadOptions.in4bit()));
        assertMessage(e, missing.resolve("model.safetensors").toString(), "missing tensor " + up, "[840, 20]");

        Path misShaped = dir.resolve("mis-shaped");
        ModelFolders.copyEdited(source, misShaped, t -> t.put("model.norm.weight",
                TensorData.ofFloats("model.norm.weight", DType.BF16, new long[] {21}, new float[21])));
        e = assertThrows(ModelConfigException.class, () -> ModelLoader.load(misShaped, LoadOptions.asStored()));
        assertMessage(e, misShaped.resolve("model.safetensors").toString(), "model.norm.weight", "[21]", "[20]");

        Path integer = dir.resolve("integer");
        ModelFolders.copyEdited(source, integer, t -> t.put("lm_head.weight",
                TensorData.of("lm_head.weight", DType.I32, new long[] {29, 20}, new byte[29 * 20 * 4])));
        e = assertThrows(ModelConfigException.class, () -> ModelLoader.load(integer, LoadOptions.asStored()));
        assertMessage(e, integer.resolve("model.safetensors").toString(), "lm_head.weight", "I32");

        String norm = "model.layers.0.input_layernorm.weight";
        Path shardedMissing = dir.resolve("sharded-missing"), shardedWrong = dir.resolve("sharded-wrong");
        try (SafetensorsFile file = SafetensorsFile.open(source.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            List<TensorData> withoutNorm = new ArrayList<>(), transposedUp = new ArrayList<>();
            for (String name : file.names()) {
                TensorInfo info = file.info(name);
                TensorData stored = new TensorData(name, info.dtype(), info.shape(), file.data(name));
                if (!name.equals(norm)) {
                    withoutNorm.add(stored);
                }
                transposedUp.add(name.equals(up)
                        ? TensorData.ofFloats(name, DType.BF16, new long[] {20, 840}, new float[20 * 840]) : stored);
            }
            SafetensorsCheckpointWriter.write(shardedMissing, withoutNorm, 10_000);
            SafetensorsCheckpointWriter.write(shardedWrong, transposedUp, 10_000);
        }
        for (Path folder : List.of(shardedMissing, shardedWrong)) {
            Files.copy(source.resolve(ModelLoader.CONFIG_FILE), folder.resolve(ModelLoader.CONFIG_FILE));
        }
        e = assertThrows(ModelConfigException.class, () -> ModelLoader.load(shardedMissing, LoadOptions.asStored()));
        assertMessage(e, shardedMissing.resolve(SafetensorsCheckpoint.INDEX_FILE).toString(), "missing tensor " + norm);
        Path shard;
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(shardedWrong)) {
            shard = checkpoint.fileOf(up).path();
        }
        assertTrue(shard.getFileName().toString().matches("model-000\\d\\d-of-000\\d\\d\\.safetensors"),
                shard.toString());
        e = assertThrows(ModelConfigException.class, () -> ModelLoader.load(shardedWrong, LoadOptions.in4bit()));
        assertMessage(e, shard.toString(), up, "[20, 840]", "[840, 20]");
    }

    @Test
    void folderAndConfigProblemsAreReported() throws IOException {
        Path source = dir.resolve("source");
        ModelFolders.writeRandom(source, ModelFolders.LLAMA, DType.BF16, seed);
        Path noConfig = dir.resolve("no-config");
        Files.createDirectories(noConfig);
        Files.copy(source.resolve("model.safetensors"), noConfig.resolve("model.safetensors"));
        NoSuchFileException noFile = assertThrows(NoSuchFileException.class,
                () -> ModelLoader.load(noConfig, LoadOptions.asStored()));
        assertMessage(noFile, noConfig.resolve("config.json").toString());

        Path eightBit = dir.resolve("eight-bit");
        ModelFolders.copyEdited(source, eightBit, t -> { });
        String eightBitConfig = "\"quantization_config\": {\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true}";
        Files.writeString(eightBit.resolve("config.json"),
                ModelFolders.LLAMA.replace("\"torch_dtype\"", eightBitConfig + ", \"torch_dtype\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelLoader.load(eightBit, LoadOptions.asStored()));
        assertMessage(e, eightBit.resolve("config.json").toString(), "load_in_8bit");

        assertThrows(IllegalArgumentException.class, () -> LoadOptions.in4bit().withBlocksize(48));
    }
}

package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter folders: round trip, a hand-built PEFT folder, shape and key errors. */
class PeftAdapterFilesTest {
    @TempDir
    Path folder;

    private static float[] randomFloats(Random random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    private static LoraModuleWeights module(Random random, String path, int rank, int in, int out) {
        return new LoraModuleWeights(path, rank, in, out, randomFloats(random, rank * in), randomFloats(random, out * rank));
    }

    @Test
    void roundTripKeepsEveryValueAndWritesPeftKeys() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        PeftAdapterConfig config = PeftAdapterConfig.builder().r(4).loraAlpha(8).taskType("CAUSAL_LM")
                .targetModules("q_proj", "down_proj").rankPattern(Map.of("down_proj", 2)).build();
        List<LoraModuleWeights> modules = List.of(
                module(random, "model.layers.0.self_attn.q_proj", 4, 16, 16),
                module(random, "model.layers.0.mlp.down_proj", 2, 24, 16),
                module(random, "model.layers.1.self_attn.q_proj", 4, 16, 16));
        PeftAdapterFiles.write(folder, config, modules);

        try (SafetensorsFile weights = SafetensorsFile.open(folder.resolve("adapter_model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), weights.metadata());
            TensorInfo a = weights.info("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(new long[] {2, 24}, a.shape());
            assertArrayEquals(new long[] {16, 4},
                    weights.info("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight").shape());
            assertEquals(6, weights.names().size());
        }
        PeftAdapter adapter = PeftAdapterFiles.read(folder);
        assertEquals(config.targetModules(), adapter.config().targetModules());
        assertEquals(3, adapter.modules().size());
        for (LoraModuleWeights expected : modules) {
            LoraModuleWeights actual = adapter.modules().get(expected.modulePath());
            assertEquals(expected.rank(), actual.rank(), expected.modulePath());
            assertEquals(expected.inFeatures(), actual.inFeatures(), expected.modulePath());
            assertEquals(expected.outFeatures(), actual.outFeatures(), expected.modulePath());
            assertBitwiseEqual(expected.a(), actual.a(), expected.modulePath() + " A, seed " + seed);
            assertBitwiseEqual(expected.b(), actual.b(), expected.modulePath() + " B, seed " + seed);
        }
    }

    @Test
    void readsHandBuiltPeftFolder() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Files.writeString(folder.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"task_type\":\"CAUSAL_LM\","
                + "\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\",\"k_proj\"]}");
        float[] kA = randomFloats(random, 4 * 8);  // [4, 8]: 128 bytes
        float[] kB = randomFloats(random, 6 * 4);  // [6, 4]: 96 bytes
        float[] qA = randomFloats(random, 4 * 8);
        float[] qB = randomFloats(random, 8 * 4);
        String p = "base_model.model.model.layers.0.self_attn.";
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"" + p + "k_proj.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]},"
                + "\"" + p + "k_proj.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[128,224]},"
                + "\"" + p + "q_proj.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[224,352]},"
                + "\"" + p + "q_proj.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[352,480]}}";
        ByteBuffer data = ByteBuffer.allocate(480).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] part : List.of(kA, kB, qA, qB)) {
            for (float v : part) {
                data.putFloat(v);
            }
        }
        RawSafetensors.write(folder, "adapter_model.safetensors", RawSafetensors.bytes(header, data.array()));

        PeftAdapter adapter = PeftAdapterFiles.read(folder);
        LoraModuleWeights k = adapter.modules().get("model.layers.0.self_attn.k_proj");
        assertEquals(8, k.inFeatures());
        assertEquals(6, k.outFeatures());
        assertBitwiseEqual(kA, k.a(), "k A, seed " + seed);
        assertBitwiseEqual(kB, k.b(), "k B, seed " + seed);
        assertBitwiseEqual(qB, adapter.modules().get("model.layers.0.self_attn.q_proj").b(), "q B, seed " + seed);
        assertEquals(2.0, adapter.config().scaling("model.layers.0.self_attn.k_proj"));
    }

    @Test
    void readsBf16Adapter() throws IOException {
        PeftAdapterFiles.write(folder, PeftAdapterConfig.builder().r(1).targetModules("v_proj").build(), List.of());
        float[] a = {0.5f, -1.25f};
        float[] b = {3.0f, 0.0078125f, -2.0f};
        new SafetensorsWriter()
                .add(TensorData.ofFloats("base_model.model.v_proj.lora_A.weight", DType.BF16, new long[] {1, 2}, a))
                .add(TensorData.ofFloats("base_model.model.v_proj.lora_B.weight", DType.BF16, new long[] {3, 1}, b))
                .write(folder.resolve("adapter_model.safetensors"));
        LoraModuleWeights v = PeftAdapterFiles.read(folder).modules().get("v_proj");
        assertBitwiseEqual(a, v.a(), "A"); // these values are exact in bf16
        assertBitwiseEqual(b, v.b(), "B");
    }

    private void writeWeights(PeftAdapterConfig config, TensorData... tensors) throws IOException {
        PeftConfigJson.write(folder.resolve("adapter_config.json"), config);
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        for (TensorData tensor : tensors) {
            writer.add(tensor);
        }
        writer.write(folder.resolve("adapter_model.safetensors"));
    }

    private static TensorData zeros(String name, long rows, long cols) {
        return TensorData.of(name, DType.F32, new long[] {rows, cols}, new byte[(int) (rows * cols * 4)]);
    }

    private String failure(Class<? extends IOException> type) {
        IOException e = assertThrows(type, () -> PeftAdapterFiles.read(folder));
        return e.getMessage();
    }

    @Test
    void shapeNotMatchingRankIsRefused() throws IOException {
        PeftAdapterConfig config = PeftAdapterConfig.builder().r(4).targetModules("q_proj").build();
        writeWeights(config, zeros("base_model.model.layers.0.q_proj.lora_A.weight", 5, 16),
                zeros("base_model.model.layers.0.q_proj.lora_B.weight", 16, 5));
        String message = failure(SafetensorsFormatException.class);
        assertTrue(message.contains("layers.0.q_proj") && message.contains("[5, 16]") && message.contains("rank 4")
                && message.contains("adapter_model.safetensors"), message);
    }

    @Test
    void halfPairIsRefused() throws IOException {
        writeWeights(PeftAdapterConfig.builder().r(2).targetModules("q_proj").build(),
                zeros("base_model.model.q_proj.lora_A.weight", 2, 4));
        String message = failure(SafetensorsFormatException.class);
        assertTrue(message.contains("lora_B.weight") && message.contains("no partner"), message);
    }

    @Test
    void otherKeysAreRefused() throws IOException {
        writeWeights(PeftAdapterConfig.builder().r(2).targetModules("q_proj").build(),
                zeros("base_model.model.lm_head.weight", 2, 4));
        assertTrue(failure(SafetensorsFormatException.class).contains("\"base_model.model.lm_head.weight\""));
        writeWeights(PeftAdapterConfig.builder().r(2).targetModules("q_proj").build(),
                zeros("base_model.model.q_proj.lora_A.default.weight", 2, 4));
        assertTrue(failure(SafetensorsFormatException.class).contains("lora_A.default.weight"));
    }

    @Test
    void untargetedModuleIsRefused() throws IOException {
        writeWeights(PeftAdapterConfig.builder().r(2).targetModules("q_proj").build(),
                zeros("base_model.model.k_proj.lora_A.weight", 2, 4), zeros("base_model.model.k_proj.lora_B.weight", 4, 2));
        assertTrue(failure(SafetensorsFormatException.class).contains("\"k_proj\""));
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        assertTrue(failure(PeftConfigException.class).contains("adapter_config.json"));
        PeftConfigJson.write(folder.resolve("adapter_config.json"), PeftAdapterConfig.builder().build());
        assertTrue(failure(PeftConfigException.class).contains("adapter_model.safetensors"));
        Files.write(folder.resolve("adapter_model.bin"), new byte[1]);
        assertTrue(failure(PeftConfigException.class).contains("adapter_model.bin"));
    }

    @Test
    void writeRefusesRankOtherThanConfigured() {
        PeftAdapterConfig config = PeftAdapterConfig.builder().r(4).targetModules("q_proj").build();
        LoraModuleWeights wrong = module(new Random(1), "q_proj", 2, 3, 3);
        assertThrows(IllegalArgumentException.class, () -> PeftAdapterFiles.write(folder, config, List.of(wrong)));
    }

    private static void assertBitwiseEqual(float[] expected, float[] actual, String message) {
        assertEquals(expected.length, actual.length, message);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(!Float.isNaN(actual[i]) && Float.floatToRawIntBits(expected[i]) == Float.floatToRawIntBits(actual[i]),
                    message + " at " + i + ": expected " + expected[i] + " got " + actual[i]);
        }
    }
}

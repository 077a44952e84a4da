package org.jtune.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.TensorData;
import org.jtune.io.TensorInfo;
import org.jtune.quant.Absmax;
import org.jtune.quant.Nf4Weight;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models saved in the bnb-4bit layout (spec §5): the files hold exactly the §5.1 tensors and the §5.3 config,
 * load back to the same bytes and the same outputs, and a malformed quant state is refused naming file and tensor.
 */
class Bnb4bitFolderTest {
    /** The quantization_config transformers writes for NF4 with double quantization and bf16 compute (spec §5.3). */
    private static final String TRANSFORMERS_QUANTIZATION_CONFIG = """
            {"_load_in_4bit": true, "_load_in_8bit": false, "bnb_4bit_compute_dtype": "bfloat16",
             "bnb_4bit_quant_storage": "uint8", "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true,
             "llm_int8_enable_fp32_cpu_offload": false, "llm_int8_has_fp16_weight": false,
             "llm_int8_skip_modules": null, "llm_int8_threshold": 6.0, "load_in_4bit": true, "load_in_8bit": false,
             "quant_method": "bitsandbytes"}""";
    private static final String[] SUFFIXES = {".weight", ".weight.absmax", ".weight.quant_map",
        ".weight.nested_absmax", ".weight.nested_quant_map", ".weight.quant_state.bitsandbytes__nf4"};
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();

    @TempDir
    Path dir;

    @AfterEach
    void close() {
        arena.close();
    }

    private static String blob(SafetensorsCheckpoint checkpoint, String module) throws IOException {
        return new String(checkpoint.data(module + ".weight.quant_state.bitsandbytes__nf4")
                .toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private static void assertSameBytes(MemorySegment expected, MemorySegment actual, String what) {
        assertEquals(expected.byteSize(), actual.byteSize(), what + ": size");
        assertEquals(-1L, expected.mismatch(actual), what + ": bytes differ");
    }

    private static void assertSameQuantized(Nf4Weight expected, Nf4Weight actual, String what) {
        assertSameBytes(expected.packed(), actual.packed(), what + " packed");
        assertArrayEquals(expected.state().shape(), actual.state().shape(), what + " shape");
        assertEquals(expected.state().dtype(), actual.state().dtype(), what + " dtype");
        assertEquals(expected.state().blocksize(), actual.state().blocksize(), what + " blocksize");
        assertArrayEquals(expected.state().quantMap(), actual.state().quantMap(), what + " quant_map");
        Absmax.DoubleQuantized e = (Absmax.DoubleQuantized) expected.state().absmax();
        Absmax.DoubleQuantized a = assertInstanceOf(Absmax.DoubleQuantized.class, actual.state().absmax(), what);
        assertSameBytes(e.codes(), a.codes(), what + " absmax");
        assertSameBytes(e.nestedAbsmax(), a.nestedAbsmax(), what + " nested_absmax");
        assertArrayEquals(e.nestedMap(), a.nestedMap(), what + " nested_quant_map");
        assertEquals(e.nestedBlocksize(), a.nestedBlocksize(), what + " nested blocksize");
        assertEquals(Float.floatToRawIntBits(e.offset()), Float.floatToRawIntBits(a.offset()), what + " offset");
    }

    /** The tensor names transformers writes for this model (spec §5.1, §9), built from the config alone. */
    private static TreeSet<String> expectedNames(ModelConfig c) {
        TreeSet<String> names = new TreeSet<>(List.of("model.embed_tokens.weight", "model.norm.weight"));
        if (!c.tieWordEmbeddings()) {
            names.add("lm_head.weight");
        }
        for (int l = 0; l < c.numLayers(); l++) {
            names.add("model.layers." + l + ".input_layernorm.weight");
            names.add("model.layers." + l + ".post_attention_layernorm.weight");
            for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                for (String suffix : SUFFIXES) {
                    names.add("model.layers." + l + "." + m + suffix);
                }
            }
        }
        return names;
    }

    private void checkRoundTrip(String configJson, DType dtype, String computeDtype, long maxShardBytes)
            throws IOException {
        Path source = dir.resolve("source-" + dtype), saved = dir.resolve("saved-" + dtype);
        Path again = dir.resolve("again-" + dtype);
        ModelConfig c = ModelFolders.writeRandom(source, configJson, dtype, seed);
        String what = c.architecture() + " " + dtype + ", seed " + seed;
        LoraAdapters lora = new LoraAdapters(c, LoraConfig.allProjections(2, 4, false), arena);
        lora.initPeftDefault(seed);
        for (String name : lora.names()) {
            if (name.endsWith("lora_B.weight")) {
                lora.tensor(name).fill(0.01f); // B = 0 would hide the adapters' share of the output
            }
        }
        Random rnd = new Random(seed);
        int[][] tokens = new int[2][6];
        for (int[] row : tokens) {
            for (int t = 0; t < row.length; t++) {
                row[t] = rnd.nextInt(c.vocabSize());
            }
        }
        Batch batch = Batch.of(tokens, tokens);
        try (LoadedModel quantized = ModelLoader.load(source, LoadOptions.in4bit())) {
            quantized.saveQuantized(saved, maxShardBytes);
            try (LoadedModel loaded = ModelLoader.load(saved, LoadOptions.asStored());
                 SafetensorsCheckpoint savedFiles = SafetensorsCheckpoint.open(saved);
                 SafetensorsCheckpoint sourceFiles = SafetensorsCheckpoint.open(source)) {
                assertEquals(expectedNames(c), new TreeSet<>(savedFiles.names()), what + ": tensor names");
                for (String name : savedFiles.names()) {
                    boolean fourBit = savedFiles.contains(name + ".quant_state.bitsandbytes__nf4");
                    if (sourceFiles.contains(name) && !fourBit) { // as stored: embeddings, norms, lm_head
                        assertEquals(sourceFiles.info(name).dtype(), savedFiles.info(name).dtype(), name);
                        assertSameBytes(sourceFiles.data(name), savedFiles.data(name), what + ": " + name);
                    }
                }
                for (int l = 0; l < c.numLayers(); l++) {
                    for (LoraTarget t : LoraTarget.values()) {
                        String module = ModelWeights.layerPrefix(l) + t.modulePath();
                        Nf4Weight expected = ((FrozenLinearWeight.Nf4) quantized.weights().layers().get(l)
                                .projection(t)).weight();
                        FrozenLinearWeight back = loaded.weights().layers().get(l).projection(t);
                        assertSameQuantized(expected, assertInstanceOf(FrozenLinearWeight.Nf4.class, back,
                                module).weight(), what + ": " + module);
                        checkTensorLayout(savedFiles, module, expected);
                    }
                }
                JsonNode config = JSON.readTree(saved.resolve("config.json").toFile());
                ObjectNode expectedQuant = (ObjectNode) JSON.readTree(TRANSFORMERS_QUANTIZATION_CONFIG);
                expectedQuant.put("bnb_4bit_compute_dtype", computeDtype);
                assertEquals(expectedQuant, config.get("quantization_config"), what + ": quantization_config");
                assertEquals(computeDtype, config.path("torch_dtype").asText(), what + ": torch_dtype");
                JsonNode original = JSON.readTree(source.resolve("config.json").toFile());
                original.properties().forEach(e -> assertEquals(e.getValue(), config.get(e.getKey()), e.getKey()));
                String text = Files.readString(saved.resolve("config.json"));
                assertTrue(text.startsWith("{\n  \"architectures\": [\n    \"") && text.endsWith("\n}\n")
                        && text.contains("\"quantization_config\": {\n    \"_load_in_4bit\": true,\n"), text);

                Nf4ModelTest.StepResult expected = Nf4ModelTest.step(c, quantized.weights(), lora, batch, false, arena);
                Nf4ModelTest.assertSameStep(expected, Nf4ModelTest.step(c, loaded.weights(), lora, batch, false,
                        arena), what + ": reloaded model");

                loaded.saveQuantized(again);
                try (SafetensorsCheckpoint againFiles = SafetensorsCheckpoint.open(again)) {
                    for (String name : savedFiles.names()) {
                        assertSameBytes(savedFiles.data(name), againFiles.data(name), what + ": saved twice: " + name);
                    }
                }
                assertEquals(text, Files.readString(again.resolve("config.json")), what + ": config saved twice");
            }
        }
        assertTrue(Files.exists(saved.resolve(SafetensorsCheckpoint.INDEX_FILE)),
                what + ": sharded past " + maxShardBytes + " bytes");
        assertFalse(Files.exists(saved.resolve(SafetensorsCheckpoint.SINGLE_FILE)), what);
        assertTrue(Files.exists(again.resolve(SafetensorsCheckpoint.SINGLE_FILE)), what + ": one file under 5 GB");
    }

    /** Dtypes, shapes and blob text of one module as spec §5.1 gives them. */
    private static void checkTensorLayout(SafetensorsCheckpoint files, String module, Nf4Weight w) throws IOException {
        long[] shape = w.state().shape();
        long n = shape[0] * shape[1], blocks = Math.ceilDiv(n, 64), nested = Math.ceilDiv(blocks, 256);
        Object[][] expected = {
            {".weight", DType.U8, new long[] {(n + 1) / 2, 1}},
            {".weight.absmax", DType.U8, new long[] {blocks}},
            {".weight.quant_map", DType.F32, new long[] {16}},
            {".weight.nested_absmax", DType.F32, new long[] {nested}},
            {".weight.nested_quant_map", DType.F32, new long[] {256}},
        };
        for (Object[] e : expected) {
            TensorInfo info = files.info(module + e[0]);
            assertEquals(e[1], info.dtype(), module + e[0]);
            assertArrayEquals((long[]) e[2], info.shape(), module + e[0]);
        }
        float offset = ((Absmax.DoubleQuantized) w.state().absmax()).offset();
        assertTrue(Math.abs(offset) >= 1e-3 && Math.abs(offset) < 1e7, "offset " + offset + " outside the range where"
                + " Java's and Python's shortest float forms agree");
        assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"" + w.state().dtype().name()
                        .replace("BF16", "bfloat16").replace("F16", "float16").replace("F32", "float32")
                        + "\", \"shape\": [" + shape[0] + ", " + shape[1] + "], \"nested_blocksize\": 256, "
                        + "\"nested_dtype\": \"float32\", \"nested_offset\": " + Double.toString(offset) + "}",
                blob(files, module), module + " quant state blob");
    }

    @Test
    void savedModelLoadsBackToTheSameBytesAndOutputs() throws IOException {
        checkRoundTrip(ModelFolders.LLAMA, DType.BF16, "bfloat16", 20_000);
        checkRoundTrip(ModelFolders.MISTRAL_TIED, DType.F16, "float16", 2_000);
    }

    /** A bnb-4bit folder like {@code saved}, with its single file edited. */
    private Path edited(Path saved, String name, Consumer<Map<String, TensorData>> edit) throws IOException {
        Path folder = dir.resolve(name);
        ModelFolders.copyEdited(saved, folder, edit);
        return folder;
    }

    private static TensorData bytes(String name, DType dtype, long[] shape, byte[] data) {
        return TensorData.of(name, dtype, shape, data);
    }

    private static Consumer<Map<String, TensorData>> editBlob(String module, String from, String to) {
        String name = module + ".weight.quant_state.bitsandbytes__nf4";
        return tensors -> {
            String text = new String(tensors.get(name).data().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            assertTrue(text.contains(from), text);
            byte[] changed = text.replace(from, to).getBytes(StandardCharsets.UTF_8);
            tensors.put(name, bytes(name, DType.U8, new long[] {changed.length}, changed));
        };
    }

    @Test
    void malformedQuantStateIsRefusedNamingFileAndTensor() throws IOException {
        Path source = dir.resolve("source"), saved = dir.resolve("saved");
        ModelFolders.writeRandom(source, ModelFolders.LLAMA, DType.BF16, seed);
        try (LoadedModel model = ModelLoader.load(source, LoadOptions.in4bit())) {
            model.saveQuantized(saved);
        }
        String p = "model.layers.1.self_attn.k_proj";
        long n = 6 * 20, blocks = Math.ceilDiv(n, 64);
        List<Object[]> cases = new ArrayList<>(); // folder name, edit, tensor the message must name, detail
        cases.add(new Object[] {"no-absmax", (Consumer<Map<String, TensorData>>) t -> t.remove(p + ".weight.absmax"),
            p + ".weight.absmax", "missing"});
        cases.add(new Object[] {"no-nested-map", (Consumer<Map<String, TensorData>>)
                t -> t.remove(p + ".weight.nested_quant_map"), p + ".weight.nested_quant_map", "missing"});
        cases.add(new Object[] {"absmax-shape", (Consumer<Map<String, TensorData>>) t -> t.put(p + ".weight.absmax",
                bytes(p + ".weight.absmax", DType.U8, new long[] {blocks + 1}, new byte[(int) blocks + 1])),
            p + ".weight.absmax", "[" + (blocks + 1) + "]"});
        cases.add(new Object[] {"packed-shape", (Consumer<Map<String, TensorData>>) t -> t.put(p + ".weight",
                bytes(p + ".weight", DType.U8, new long[] {n / 4, 2}, new byte[(int) n / 2])),
            p + ".weight", "[" + n / 4 + ", 2]"});
        cases.add(new Object[] {"absmax-dtype", (Consumer<Map<String, TensorData>>) t -> t.put(p + ".weight.absmax",
                bytes(p + ".weight.absmax", DType.F32, new long[] {blocks}, new byte[(int) blocks * 4])),
            p + ".weight.absmax", "F32"});
        cases.add(new Object[] {"fp8", editBlob(p, "\"nf4\"", "\"fp8\""), p + ".weight.quant_state", "fp8"});
        cases.add(new Object[] {"blocksize-48", editBlob(p, "\"blocksize\": 64", "\"blocksize\": 48"),
            p + ".weight.quant_state", "blocksize 48"});
        cases.add(new Object[] {"no-dtype", editBlob(p, "\"dtype\": \"bfloat16\", ", ""), p + ".weight.quant_state",
            "dtype missing"});
        cases.add(new Object[] {"not-json", editBlob(p, "\"shape\"", "shape"), p + ".weight.quant_state",
            "not valid JSON"});
        cases.add(new Object[] {"shape-vs-config", editBlob(p, "[6, 20]", "[20, 6]"), p + ".weight",
            "config needs [6, 20]"});
        cases.add(new Object[] {"quant-map", (Consumer<Map<String, TensorData>>) t -> t.put(p + ".weight.quant_map",
                TensorData.ofFloats(p + ".weight.quant_map", DType.F32, new long[] {16}, new float[16])),
            p + ".weight.quant_map", "entry 0"});
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            Path folder = edited(saved, (String) c[0], (Consumer<Map<String, TensorData>>) c[1]);
            ModelConfigException e = assertThrows(ModelConfigException.class,
                    () -> ModelLoader.load(folder, LoadOptions.asStored()).close(), (String) c[0]);
            String file = folder.resolve(SafetensorsCheckpoint.SINGLE_FILE).toString();
            assertTrue(e.getMessage().contains(file) && e.getMessage().contains((String) c[2])
                    && e.getMessage().contains((String) c[3]), c[0] + ": " + e.getMessage());
        }
    }

    @Test
    void projectionsLeftUnquantizedLoadAsStoredAndStaySkipped() throws IOException {
        Path source = dir.resolve("source"), saved = dir.resolve("saved"), again = dir.resolve("again");
        ModelConfig c = ModelFolders.writeRandom(source, ModelFolders.LLAMA, DType.BF16, seed);
        try (LoadedModel model = ModelLoader.load(source, LoadOptions.in4bit())) {
            model.saveQuantized(saved);
        }
        String down = "model.layers.0.mlp.down_proj";
        Path mixed;
        try (SafetensorsCheckpoint original = SafetensorsCheckpoint.open(source)) {
            MemorySegment dense = original.data(down + ".weight");
            mixed = edited(saved, "mixed", t -> {
                for (String suffix : SUFFIXES) {
                    t.remove(down + suffix);
                }
                t.put(down + ".weight", new TensorData(down + ".weight", DType.BF16,
                        new long[] {c.hiddenSize(), c.intermediateSize()}, dense));
            });
        }
        ObjectNode config = (ObjectNode) JSON.readTree(saved.resolve("config.json").toFile());
        ((ObjectNode) config.get("quantization_config")).putArray("llm_int8_skip_modules").add("lm_head");
        Files.writeString(mixed.resolve("config.json"), config.toString());
        try (LoadedModel model = ModelLoader.load(mixed, LoadOptions.in4bit());
             SafetensorsCheckpoint original = SafetensorsCheckpoint.open(source)) {
            FrozenLinearWeight w = model.weights().layers().get(0).projection(LoraTarget.DOWN);
            assertSameBytes(original.data(down + ".weight"),
                    assertInstanceOf(FrozenLinearWeight.Dense.class, w).tensor().segment(), down);
            assertEquals(13, model.memory().quantizedProjections());
            assertTrue(model.memory().line().contains("13 of 7 x 2 projections quantized"), model.memory().line());
            model.saveQuantized(again);
        }
        JsonNode skip = JSON.readTree(again.resolve("config.json").toFile()).path("quantization_config")
                .path("llm_int8_skip_modules");
        assertEquals(JSON.readTree("[\"lm_head\", \"" + down + "\"]"), skip, "skip list after saving");
        try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(again)) {
            assertEquals(DType.BF16, files.info(down + ".weight").dtype());
            assertFalse(files.contains(down + ".weight.absmax"));
        }
    }

    @Test
    void aModelWithNothingQuantizedIsNotSavedAsFourBit() throws IOException {
        ModelFolders.writeRandom(dir.resolve("m"), ModelFolders.MISTRAL_TIED, DType.BF16, seed);
        try (LoadedModel model = ModelLoader.load(dir.resolve("m"), LoadOptions.asStored())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> model.saveQuantized(dir.resolve("out")));
            assertTrue(e.getMessage().contains("no projection"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("out")));
    }
}

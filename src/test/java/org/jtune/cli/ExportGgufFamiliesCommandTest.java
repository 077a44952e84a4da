package org.jtune.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.GgufFileReader;
import org.jtune.io.LoraModuleWeights;
import org.jtune.io.PeftAdapter;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.io.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code export-gguf} of Qwen2, Qwen3 and Gemma 3 in f16 and q8_0: every tensor of the file against the base weights
 * with the adapter merged in by the test (Gemma's norm weights plus one, q/k rows as they are), under the names
 * llama.cpp's converter gives them, the metadata keys of each architecture, and the models llama.cpp's architectures
 * cannot represent, refused with the reason. That llama.cpp runs the files as jtune does is
 * {@link ExportGgufFamiliesLlamaCppTest}'s.
 */
class ExportGgufFamiliesCommandTest {
    private static final int F32 = 0, F16 = 1, Q8_0 = 8;

    @TempDir
    Path temp;

    @ParameterizedTest
    @CsvSource({"qwen2, f16", "qwen2, q8_0", "qwen3, f16", "qwen3, q8_0", "gemma3, f16", "gemma3, q8_0"})
    void fileHoldsTheMergedWeightsUnderTheConvertersNames(String family, String type) throws IOException {
        Path model = FamilyGgufModels.write(temp.resolve("model"), FamilyGgufModels.config(family), 21);
        Path adapter = FamilyGgufModels.adapter(model, temp.resolve("adapter"), 22);
        Path file = temp.resolve("out/" + family + ".gguf");
        CliFixture.Result r = CliFixture.run("export-gguf", "--model", model.toString(), "--adapter",
                adapter.toString(), "--type", type, "--output", file.toString());
        assertEquals(0, r.exitCode(), r.toString());
        GgufFileReader gguf = new GgufFileReader(file);
        PeftAdapter peft = PeftAdapterFiles.read(adapter);
        try (SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            // every tensor of the checkpoint is in the file under the converter's name, and nothing else
            Map<String, String> sourceOf = new HashMap<>();
            for (String name : weights.names()) {
                sourceOf.put(ggufName(name, family), name);
            }
            assertEquals(new TreeSet<>(sourceOf.keySet()), new TreeSet<>(gguf.tensors.stream()
                    .map(GgufFileReader.TensorEntry::name).toList()), family);
            for (GgufFileReader.TensorEntry t : gguf.tensors) {
                checkTensor(t, sourceOf.get(t.name()), gguf, weights, peft, family, type);
            }
        }
        checkMetadata(gguf.metadata, family, type);
    }

    private static void checkTensor(GgufFileReader.TensorEntry t, String source, GgufFileReader gguf,
                                    SafetensorsFile weights, PeftAdapter peft, String family, String type)
            throws IOException {
        float[] w = weights.readFloats(source);
        int rows = t.dims().length == 1 ? 1 : (int) t.dims()[1];
        int cols = (int) t.dims()[0];
        assertEquals((long) rows * cols, w.length, t.name());
        String module = source.replace(".weight", "");
        LoraModuleWeights lora = source.endsWith(".weight") ? peft.modules().get(module) : null;
        double scaling = lora == null ? 0 : peft.config().scaling(module);
        double[] expected = new double[w.length];
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < cols; col++) {
                double e = w[row * cols + col];
                if (lora != null) {
                    for (int k = 0; k < lora.rank(); k++) {
                        e += scaling * lora.b()[row * lora.rank() + k] * lora.a()[k * cols + col];
                    }
                }
                expected[row * cols + col] = e;
            }
        }
        if (t.dims().length == 1) {
            assertEquals(F32, t.type(), t.name() + ": vectors stay f32");
            // Gemma 3 scales by 1 + w, llama.cpp by the stored weight: the converter adds one, in float32
            boolean shifted = family.equals("gemma3") && t.name().endsWith("norm.weight");
            byte[] data = gguf.data(t, 4 * cols);
            for (int i = 0; i < cols; i++) {
                float stored = Float.intBitsToFloat(littleEndianInt(data, 4 * i));
                float want = shifted ? w[i] + 1f : w[i];
                assertEquals(want, stored, 0f, t.name() + "[" + i + "]");
            }
            return;
        }
        if (type.equals("f16")) {
            assertEquals(F16, t.type(), t.name());
            byte[] data = gguf.data(t, rows * cols * 2);
            for (int i = 0; i < rows * cols; i++) {
                float stored = Float.float16ToFloat((short) ((data[2 * i] & 0xFF) | data[2 * i + 1] << 8));
                // round to nearest f16: half a unit in the last of 11 bits, or of the subnormal step
                assertEquals(expected[i], stored, Math.abs(expected[i]) * 0x1p-11 + 0x1p-25,
                        t.name() + "[" + i / cols + "][" + i % cols + "]");
            }
        } else {
            assertEquals(Q8_0, t.type(), t.name());
            byte[] data = gguf.data(t, rows * cols / 32 * 34);
            for (int b = 0; b < rows * cols / 32; b++) {
                double amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(expected[32 * b + j]));
                }
                float scale = Float.float16ToFloat((short) ((data[34 * b] & 0xFF) | data[34 * b + 1] << 8));
                // the scale is amax/127 in f16; each value its nearest multiple of the float32 scale, within half
                // a step, and then times the f16 scale (127 steps of its rounding error at most)
                double step = amax / 127;
                assertEquals(step, scale, step * 0x1p-11 + 1e-12, t.name() + " block " + b + " scale");
                for (int j = 0; j < 32; j++) {
                    double stored = data[34 * b + 2 + j] * (double) scale;
                    assertEquals(expected[32 * b + j], stored, step * (0.5 + 127 * 0x1p-11) + 1e-9,
                            t.name() + " block " + b + " value " + j);
                }
            }
        }
    }

    /** The metadata llama.cpp reads for each architecture, with the values of {@link FamilyGgufModels#config}. */
    private static void checkMetadata(Map<String, Object> m, String family, String type) {
        String arch = family;
        assertEquals(arch, m.get("general.architecture"));
        assertEquals(type.equals("f16") ? 1L : 7L, m.get("general.file_type"));
        Map<String, Object> want = new HashMap<>();
        want.put("block_count", family.equals("gemma3") ? 4L : 2L);
        want.put("context_length", 512L);
        want.put("embedding_length", 256L);
        want.put("feed_forward_length", 512L);
        want.put("attention.head_count", 4L);
        want.put("attention.head_count_kv", family.equals("gemma3") ? 1L : 2L);
        long headDim = family.equals("qwen3") ? 32L : 64L;
        want.put("attention.key_length", headDim);
        want.put("attention.value_length", headDim);
        want.put("attention.layer_norm_rms_epsilon", family.equals("gemma3") ? 1e-6f : 1e-5f);
        want.put("rope.freq_base", family.equals("qwen3") ? 10000f : 1000000f);
        if (!family.equals("qwen2")) {
            want.put("rope.scaling.type", "linear");
            want.put("rope.scaling.factor", 2f);
        }
        if (family.equals("gemma3")) {
            want.put("attention.sliding_window", 16L);
            want.put("attention.sliding_window_pattern", 2L);
            want.put("rope.freq_base_swa", 10000f);
        }
        for (Map.Entry<String, Object> e : want.entrySet()) {
            assertEquals(e.getValue(), m.get(arch + "." + e.getKey()), arch + "." + e.getKey());
        }
        List<String> archKeys = m.keySet().stream()
                .filter(k -> !k.startsWith("general.") && !k.startsWith("tokenizer.")).toList();
        assertEquals(new TreeSet<>(want.keySet().stream().map(k -> arch + "." + k).toList()), new TreeSet<>(archKeys),
                "the architecture's keys and no others");
        assertEquals("gpt2", m.get("tokenizer.ggml.model"));
        assertEquals(512, ((List<?>) m.get("tokenizer.ggml.tokens")).size());
    }

    /** The converter's name for a transformers tensor of these families (gguf-py's tensor mapping, written out). */
    private static String ggufName(String hf, String family) {
        Map<String, String> top = Map.of("model.embed_tokens.weight", "token_embd.weight",
                "model.norm.weight", "output_norm.weight", "lm_head.weight", "output.weight");
        if (top.containsKey(hf)) {
            return top.get(hf);
        }
        String[] parts = hf.split("\\.", 4); // model, layers, N, rest
        String rest = switch (parts[3]) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.q_proj.bias" -> "attn_q.bias";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.k_proj.bias" -> "attn_k.bias";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.v_proj.bias" -> "attn_v.bias";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "self_attn.q_norm.weight" -> "attn_q_norm.weight";
            case "self_attn.k_norm.weight" -> "attn_k_norm.weight";
            // Gemma 3's post_attention_layernorm normalizes the attention output; the others' is the MLP's input
            case "post_attention_layernorm.weight" -> family.equals("gemma3") ? "post_attention_norm.weight"
                    : "ffn_norm.weight";
            case "pre_feedforward_layernorm.weight" -> "ffn_norm.weight";
            case "post_feedforward_layernorm.weight" -> "post_ffw_norm.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> throw new AssertionError("unexpected tensor " + hf);
        };
        return "blk." + parts[2] + "." + rest;
    }

    private static int littleEndianInt(byte[] b, int o) {
        return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16 | b[o + 3] << 24;
    }

    /**
     * The sliding-window keys of Gemma 3 as llama.cpp reads them: the published period of 6 is its default and not
     * written (as the converter writes none); with no sliding layer (sliding_window_pattern 1) no window at all.
     */
    @Test
    void gemmaSlidingKeysOfThePublishedPatternAndOfNone() throws IOException {
        ObjectNode published = FamilyGgufModels.config("gemma3");
        published.put("num_hidden_layers", 6).remove("sliding_window_pattern");
        Map<String, Object> m = exportedMetadata(published, "published");
        assertEquals(16L, m.get("gemma3.attention.sliding_window"));
        assertFalse(m.containsKey("gemma3.attention.sliding_window_pattern"), m.keySet().toString());
        assertEquals(10000f, m.get("gemma3.rope.freq_base_swa"));

        ObjectNode global = FamilyGgufModels.config("gemma3");
        global.put("sliding_window_pattern", 1);
        m = exportedMetadata(global, "global");
        assertFalse(m.containsKey("gemma3.attention.sliding_window"), m.keySet().toString());
        assertFalse(m.containsKey("gemma3.attention.sliding_window_pattern"), m.keySet().toString());
    }

    private Map<String, Object> exportedMetadata(ObjectNode config, String name) throws IOException {
        Path model = FamilyGgufModels.write(temp.resolve(name), config, 4);
        Path file = temp.resolve(name + ".gguf");
        CliFixture.Result r = CliFixture.run("export-gguf", "--model", model.toString(), "--output", file.toString());
        assertEquals(0, r.exitCode(), r.toString());
        return new GgufFileReader(file).metadata;
    }

    @Test
    void refusesWhatTheFamiliesArchitecturesCannotHoldAndWritesNothing() throws IOException {
        Path out = temp.resolve("refused");
        ObjectNode slidingQwen = FamilyGgufModels.config("qwen2");
        slidingQwen.put("use_sliding_window", true).put("sliding_window", 32).put("max_window_layers", 1);
        refused(slidingQwen, out, "use_sliding_window makes layer 1", "no sliding window");

        ObjectNode qwen2HeadDim = FamilyGgufModels.config("qwen2");
        qwen2HeadDim.put("head_dim", 32);
        refused(qwen2HeadDim, out, "head_dim 32 x 4 heads is not hidden_size 256", "qwen2 architecture");

        ObjectNode llama3Rope = FamilyGgufModels.config("qwen3");
        llama3Rope.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        refused(llama3Rope, out, "Llama 3 RoPE scaling", "qwen3 architecture");

        ObjectNode qwen3Bias = FamilyGgufModels.config("qwen3");
        qwen3Bias.put("attention_bias", true);
        refused(qwen3Bias, out, "attention_bias", "not exported");

        ObjectNode scalar = FamilyGgufModels.config("gemma3");
        scalar.put("query_pre_attn_scalar", 256);
        refused(scalar, out, "query_pre_attn_scalar is 256.0", "1/sqrt(64) (head_dim)");

        ObjectNode layerTypes = FamilyGgufModels.config("gemma3");
        layerTypes.putArray("layer_types").add("full_attention").add("sliding_attention").add("sliding_attention")
                .add("full_attention");
        refused(layerTypes, out, "global (full-attention) layers 0, 3 of 4 follow no period", "gemma3");

        try (Stream<Path> files = Files.exists(out) ? Files.list(out) : Stream.empty()) {
            assertFalse(files.anyMatch(p -> p.toString().endsWith(".gguf") || p.toString().endsWith(".tmp")),
                    "a refused export leaves no file");
        }
    }

    private void refused(ObjectNode config, Path out, String... reason) throws IOException {
        Path model = FamilyGgufModels.write(temp.resolve("refused-model"), config, 3);
        CliFixture.Result r = CliFixture.run("export-gguf", "--model", model.toString(), "--output",
                out.resolve("model.gguf").toString());
        assertEquals(1, r.exitCode(), r.toString());
        for (String part : reason) {
            assertTrue(r.err().contains(part), "expected '" + part + "' in: " + r);
        }
    }
}

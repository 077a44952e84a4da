package org.jtune.cli;

import org.jtune.io.GgufFileReader;
import org.jtune.io.LoraModuleWeights;
import org.jtune.io.PeftAdapter;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.io.SafetensorsFile;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.ModelLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code export-gguf} on a tiny model: every tensor of the f16 file against the base weights with the adapter merged
 * in by the test (and the query/key rows reordered for llama.cpp's RoPE), the metadata, the Modelfile, and the
 * refusals. That llama.cpp runs the files as jtune does is {@link ExportGgufLlamaCppTest}'s.
 */
class ExportGgufCommandTest {
    @TempDir
    static Path temp;
    static Path model;
    static Path adapter;

    @BeforeAll
    static void trainAnAdapter() throws IOException {
        model = CliFixture.tinyModel(temp.resolve("model"));
        Path data = CliFixture.writeLines(temp.resolve("train.jsonl"), CliFixture.records("messages", 16, 3));
        CliFixture.Result r = CliFixture.train("sft", model, temp.resolve("run"), 64, 5, "--data", data.toString(),
                "--max-steps", "2");
        assertEquals(0, r.exitCode(), r.toString());
        adapter = temp.resolve("run/adapter");
    }

    @Test
    void f16FileHoldsTheMergedWeightsInLlamaCppsLayout() throws IOException {
        Path file = temp.resolve("out/tiny.gguf");
        CliFixture.Result r = CliFixture.run("export-gguf", "--model", model.toString(), "--adapter", adapter.toString(),
                "--output", file.toString(), "--name", "tiny test");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("21 tensors (5 f32, 16 f16)"),
                r.toString());
        GgufFileReader gguf = new GgufFileReader(file);
        assertEquals(3, gguf.version);
        Map<String, Object> m = gguf.metadata;
        assertEquals("llama", m.get("general.architecture"));
        assertEquals("tiny test", m.get("general.name"));
        assertEquals(1L, m.get("general.file_type"));
        assertEquals(2L, m.get("llama.block_count"));
        assertEquals(32L, m.get("llama.embedding_length"));
        assertEquals(48L, m.get("llama.feed_forward_length"));
        assertEquals(4L, m.get("llama.attention.head_count"));
        assertEquals(2L, m.get("llama.attention.head_count_kv"));
        assertEquals(8L, m.get("llama.rope.dimension_count"));
        assertEquals(128L, m.get("llama.context_length"));
        assertEquals(10000f, m.get("llama.rope.freq_base"));
        assertEquals(1e-5f, m.get("llama.attention.layer_norm_rms_epsilon"));
        assertEquals("gpt2", m.get("tokenizer.ggml.model"));
        assertEquals("gpt-2", m.get("tokenizer.ggml.pre"));
        assertEquals(512, ((List<?>) m.get("tokenizer.ggml.tokens")).size());
        assertEquals(507L, m.get("tokenizer.ggml.bos_token_id"));
        assertEquals(508L, m.get("tokenizer.ggml.eos_token_id"));
        assertEquals(true, m.get("tokenizer.ggml.add_bos_token"));
        assertEquals(DemoTokenizerBuilder.CHAT_TEMPLATE, m.get("tokenizer.chat_template"));

        PeftAdapter peft = PeftAdapterFiles.read(adapter);
        try (SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            for (GgufFileReader.TensorEntry t : gguf.tensors) {
                String source = sourceName(t.name());
                float[] w = weights.readFloats(source);
                int rows = t.dims().length == 1 ? 1 : (int) t.dims()[1];
                int cols = (int) t.dims()[0];
                assertEquals((long) rows * cols, w.length, t.name());
                String module = source.replace(".weight", "");
                LoraModuleWeights lora = peft.modules().get(module);
                double scaling = lora == null ? 0 : peft.config().scaling(module);
                int heads = t.name().endsWith("attn_q.weight") ? 4 : t.name().endsWith("attn_k.weight") ? 2 : 0;
                int type = t.type();
                assertEquals(t.dims().length == 1 ? 0 : 1, type, t.name() + ": vectors f32, matrices f16");
                byte[] data = gguf.data(t, rows * cols * (type == 0 ? 4 : 2));
                for (int row = 0; row < rows; row++) {
                    int src = heads == 0 ? row : permutedSource(row, rows / heads);
                    for (int col = 0; col < cols; col++) {
                        double expected = w[src * cols + col];
                        if (lora != null) {
                            for (int k = 0; k < lora.rank(); k++) {
                                expected += scaling * lora.b()[src * lora.rank() + k] * lora.a()[k * cols + col];
                            }
                        }
                        int i = row * cols + col;
                        float actual = type == 0
                                ? Float.intBitsToFloat((data[4 * i] & 0xFF) | (data[4 * i + 1] & 0xFF) << 8
                                        | (data[4 * i + 2] & 0xFF) << 16 | data[4 * i + 3] << 24)
                                : Float.float16ToFloat((short) ((data[2 * i] & 0xFF) | data[2 * i + 1] << 8));
                        assertEquals(expected, actual, Math.abs(expected) * 0x1p-11 + 1e-7,
                                t.name() + "[" + row + "][" + col + "]");
                    }
                }
            }
        }
        String modelfile = Files.readString(file.resolveSibling("Modelfile"));
        assertTrue(modelfile.contains("FROM ./tiny.gguf\n") && modelfile.contains("TEMPLATE \"\"\"")
                && modelfile.contains("PARAMETER stop \"<|eos|>\""), modelfile);
    }

    /** transformers' name of a GGUF tensor of the llama architecture, written out as the converter maps them. */
    private static String sourceName(String gguf) {
        Map<String, String> top = Map.of("token_embd.weight", "model.embed_tokens.weight",
                "output_norm.weight", "model.norm.weight", "output.weight", "lm_head.weight");
        if (top.containsKey(gguf)) {
            return top.get(gguf);
        }
        String[] parts = gguf.split("\\.", 3);
        String layer = "model.layers." + parts[1] + ".";
        return layer + switch (parts[2]) {
            case "attn_norm.weight" -> "input_layernorm.weight";
            case "attn_q.weight" -> "self_attn.q_proj.weight";
            case "attn_k.weight" -> "self_attn.k_proj.weight";
            case "attn_v.weight" -> "self_attn.v_proj.weight";
            case "attn_output.weight" -> "self_attn.o_proj.weight";
            case "ffn_norm.weight" -> "post_attention_layernorm.weight";
            case "ffn_gate.weight" -> "mlp.gate_proj.weight";
            case "ffn_up.weight" -> "mlp.up_proj.weight";
            case "ffn_down.weight" -> "mlp.down_proj.weight";
            default -> throw new AssertionError("unexpected tensor " + gguf);
        };
    }

    /**
     * The converter's permute: reshape(heads, 2, d/2, in).swapaxes(1, 2).reshape: output row (h, i, j) is input row
     * (h, j, i).
     */
    private static int permutedSource(int row, int headDim) {
        int h = row / headDim, i = (row % headDim) / 2, j = row % 2;
        return h * headDim + j * (headDim / 2) + i;
    }

    @Test
    void refusesWhatLlamaCppCannotHoldAndWritesNothing() throws IOException {
        Path out = temp.resolve("refused");
        // rows of 48 values (the tiny model's feed-forward width) are not whole 32-value blocks
        CliFixture.Result r = CliFixture.run("export-gguf", "--model", model.toString(), "--type", "q4_0", "--output",
                out.resolve("q4.gguf").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("blk.0.ffn_down.weight") && r.err().contains("export it as f16 or bf16"),
                r.toString());

        r = CliFixture.run("export-gguf", "--model", model.toString(), "--type", "q3_k", "--output",
                out.resolve("q3.gguf").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("unknown GGUF type 'q3_k'"), r.toString());

        r = CliFixture.run("export-gguf", "--model", model.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--output"), r.toString());

        r = CliFixture.run("export-gguf", "--model", model.toString(), "--output", temp.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("is a folder"), r.toString());

        Path fourBit = temp.resolve("model-4bit");
        try (LoadedModel loaded = ModelLoader.load(model, LoadOptions.in4bit())) {
            loaded.saveQuantized(fourBit);
        }
        ModelFiles.copyTokenizerFiles(model, fourBit);
        r = CliFixture.run("export-gguf", "--model", fourBit.toString(), "--output", out.resolve("nf4.gguf").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("in 4-bit") && r.err().contains("16-bit base model"), r.toString());

        try (Stream<Path> files = Files.exists(out) ? Files.list(out) : Stream.empty()) {
            assertFalse(files.anyMatch(p -> p.toString().endsWith(".gguf") || p.toString().endsWith(".tmp")),
                    "a refused export leaves no file");
        }
    }
}

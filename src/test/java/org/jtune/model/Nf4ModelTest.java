package org.jtune.model;

import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.quant.Absmax;
import org.jtune.quant.Nf4Weight;
import org.jtune.quant.QuantState;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model running on NF4 base weights: quantized on load it computes exactly what the same model computes with
 * the dequantized weights given to it dense; and the memory report adds up the buffers actually held.
 */
class Nf4ModelTest extends TestFixture {
    /** The NF4 code table of bitsandbytes as float32 bits (spec §1), written out here rather than taken from quant. */
    private static final int[] NF4_BITS = {
        0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F, 0xBDBA7871, 0x00000000,
        0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A, 0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000,
    };
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    /**
     * Spec §4 written out: w = fl32(NF4[code] * absmax[block]), absmax double-quantized as
     * fl32(fl32(map[q] * nested[block / 256]) + offset), then rounded to the weight's original dtype.
     */
    static Tensor referenceDequantized(Nf4Weight weight, Arena arena) {
        QuantState state = weight.state();
        Tensor out = Tensor.allocate(arena, state.dtype(), state.shape());
        for (long j = 0; j < state.elementCount(); j++) {
            int pair = Byte.toUnsignedInt(weight.packed().get(ValueLayout.JAVA_BYTE, j / 2));
            int code = j % 2 == 0 ? pair >>> 4 : pair & 0xF;
            long block = j / state.blocksize();
            float absmax = switch (state.absmax()) {
                case Absmax.Plain p -> p.values().getAtIndex(F32, block);
                case Absmax.DoubleQuantized d -> {
                    int q = Byte.toUnsignedInt(d.codes().get(ValueLayout.JAVA_BYTE, block));
                    float scaled = d.nestedMap()[q] * d.nestedAbsmax().getAtIndex(F32, block / d.nestedBlocksize());
                    yield scaled + d.offset();
                }
            };
            out.set(j, Float.intBitsToFloat(NF4_BITS[code]) * absmax);
        }
        return out;
    }

    private LoraAdapters randomAdapters(ModelConfig c) {
        LoraAdapters lora = new LoraAdapters(c, LoraConfig.allProjections(2, 4, false), arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        return lora;
    }

    private Batch randomBatch(int vocab, int rows, int len) {
        int[][] tokens = new int[rows][len], labels = new int[rows][len];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < len; t++) {
                tokens[b][t] = rnd.nextInt(vocab);
                labels[b][t] = rnd.nextInt(5) == 0 ? -100 : rnd.nextInt(vocab);
            }
        }
        return Batch.of(tokens, labels);
    }

    /** Loss, logits and every LoRA gradient of one step. */
    record StepResult(float loss, float[] logits, Map<String, float[]> gradients) {}

    static StepResult step(ModelConfig c, ModelWeights weights, LoraAdapters lora, Batch batch, boolean checkpointing,
                           Arena arena) {
        try (CpuCausalLm model = new CpuCausalLm(c, weights, lora, new CpuOps(), batch.batchSize(), batch.seqLen(),
                checkpointing)) {
            Tensor logits = Tensor.f32(arena, batch.tokenCount(), c.vocabSize());
            lora.zeroGradients();
            float loss = model.forward(batch, logits);
            model.backward();
            Map<String, float[]> gradients = new HashMap<>();
            for (String name : lora.names()) {
                gradients.put(name, lora.gradient(name).toFloatArray());
            }
            return new StepResult(loss, logits.toFloatArray(), gradients);
        }
    }

    static void assertSameStep(StepResult expected, StepResult actual, String what) {
        assertEquals(Float.floatToRawIntBits(expected.loss()), Float.floatToRawIntBits(actual.loss()),
                what + ": loss " + expected.loss() + " vs " + actual.loss());
        assertArrayEquals(expected.logits(), actual.logits(), what + ": logits");
        assertTrue(Float.isFinite(actual.loss()), what + ": loss " + actual.loss());
        for (Map.Entry<String, float[]> e : expected.gradients().entrySet()) {
            assertArrayEquals(e.getValue(), actual.gradients().get(e.getKey()), what + ": gradient of " + e.getKey());
        }
    }

    /**
     * Bit-for-bit, not within a tolerance: the NF4 model dequantizes each projection into bf16, which must be exactly
     * the bf16 values of the reference dequantization, and from there both models run the same deterministic ops on
     * identical operands. Any difference means a wrong weight, a stale scratch or a wrongly sized view.
     */
    @Test
    void quantizedOnLoadComputesWhatTheDequantizedDenseModelComputes() throws IOException {
        ModelConfig c = ModelFolders.writeRandom(dir.resolve("bf16"), ModelFolders.LLAMA, DType.BF16, seed);
        LoadOptions[] options = {LoadOptions.in4bit(), LoadOptions.in4bit().withBlocksize(128).withDoubleQuant(false)};
        for (LoadOptions option : options) {
            String what = option + ", seed " + seed;
            try (LoadedModel original = ModelLoader.load(dir.resolve("bf16"), LoadOptions.asStored());
                 LoadedModel quantized = ModelLoader.load(dir.resolve("bf16"), option)) {
                Map<String, Tensor> dense = new HashMap<>();
                boolean anyChanged = false;
                for (String name : ModelFolders.tensorNames(dir.resolve("bf16"))) {
                    dense.put(name, tensorOf(original.weights(), name));
                }
                for (int l = 0; l < c.numLayers(); l++) {
                    for (LoraTarget t : LoraTarget.values()) {
                        FrozenLinearWeight w = quantized.weights().layers().get(l).projection(t);
                        Nf4Weight nf4 = assertInstanceOf(FrozenLinearWeight.Nf4.class, w, what).weight();
                        assertEquals(option.blocksize(), nf4.state().blocksize(), what);
                        assertEquals(option.doubleQuant(), nf4.state().doubleQuantized(), what);
                        assertEquals(DType.BF16, nf4.state().dtype(), what);
                        Tensor deq = referenceDequantized(nf4, arena);
                        String name = ModelWeights.layerPrefix(l) + t.modulePath() + ".weight";
                        anyChanged |= !java.util.Arrays.equals(deq.toFloatArray(), dense.get(name).toFloatArray());
                        dense.put(name, deq);
                    }
                }
                assertTrue(anyChanged, what + ": quantization changed no weight at all");
                assertSame(original.weights().embedTokens(), quantized.weights().embedTokens(), what);
                assertEquals(c.numLayers() * 7, quantized.memory().quantizedProjections(), what);

                ModelWeights given = ModelWeights.load(c, WeightSource.of(dense, "dequantized weights"));
                LoraAdapters lora = randomAdapters(c);
                Batch batch = randomBatch(c.vocabSize(), 2, 7);
                StepResult expected = step(c, given, lora, batch, false, arena);
                assertSameStep(expected, step(c, quantized.weights(), lora, batch, false, arena), what);
                assertSameStep(expected, step(c, quantized.weights(), lora, batch, true, arena),
                        what + ", with gradient checkpointing");
                assertNotEquals(expected.loss(), step(c, original.weights(), lora, batch, false, arena).loss(),
                        what + ": the bf16 model should differ from its quantized form");
            }
        }
    }

    /** Embeddings, norms and the head stay the very bytes of the file; only the projections are quantized. */
    private static void assertSame(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        assertEquals(expected.dtype(), actual.dtype(), what);
        assertEquals(-1L, expected.segment().mismatch(actual.segment()), what + ": bytes differ");
    }

    private static Tensor tensorOf(ModelWeights w, String name) {
        for (int l = 0; l < w.layers().size(); l++) {
            ModelWeights.Layer layer = w.layers().get(l);
            String p = ModelWeights.layerPrefix(l);
            for (LoraTarget t : LoraTarget.values()) {
                if (name.equals(p + t.modulePath() + ".weight")) {
                    return ((FrozenLinearWeight.Dense) layer.projection(t)).tensor();
                }
            }
            if (name.equals(p + "input_layernorm.weight")) {
                return layer.inputNorm();
            }
            if (name.equals(p + "post_attention_layernorm.weight")) {
                return layer.mlpNorm();
            }
        }
        return switch (name) {
            case "model.embed_tokens.weight" -> w.embedTokens();
            case "model.norm.weight" -> w.norm();
            case "lm_head.weight" -> w.lmHead();
            default -> throw new IllegalArgumentException("no weight " + name);
        };
    }

    /** Sums the buffers each weight holds, from the segments and maps themselves. */
    private static long heldBytes(Nf4Weight w) {
        long bytes = w.packed().byteSize() + (long) w.state().quantMap().length * Float.BYTES;
        return bytes + switch (w.state().absmax()) {
            case Absmax.Plain p -> p.values().byteSize();
            case Absmax.DoubleQuantized d -> d.codes().byteSize() + d.nestedAbsmax().byteSize()
                    + (long) d.nestedMap().length * Float.BYTES;
        };
    }

    @Test
    void memoryReportAddsUpTheHeldBuffers() throws IOException {
        ModelConfig c = ModelFolders.writeRandom(dir.resolve("m"), ModelFolders.LLAMA, DType.BF16, seed);
        try (LoadedModel model = ModelLoader.load(dir.resolve("m"), LoadOptions.in4bit())) {
            ModelWeights w = model.weights();
            long nf4 = 0, dense = 0, elements = 0;
            for (ModelWeights.Layer layer : w.layers()) {
                for (LoraTarget t : LoraTarget.values()) {
                    Nf4Weight q = ((FrozenLinearWeight.Nf4) layer.projection(t)).weight();
                    nf4 += heldBytes(q);
                    elements += q.state().elementCount();
                }
                dense += layer.inputNorm().segment().byteSize() + layer.mlpNorm().segment().byteSize();
                elements += layer.inputNorm().size() + layer.mlpNorm().size();
            }
            for (Tensor t : new Tensor[] {w.embedTokens(), w.norm(), w.lmHead()}) {
                dense += t.segment().byteSize();
                elements += t.size();
            }
            MemoryReport report = model.memory();
            assertEquals(nf4, report.quantizedBytes(), "NF4 bytes");
            assertEquals(dense, report.denseBytes(), "dense bytes");
            assertEquals(2 * elements, report.bf16Bytes(), "bf16 bytes");
            long params = (long) c.vocabSize() * c.hiddenSize() * 2 + c.numLayers() * (2L * c.hiddenSize()
                    + 2L * c.qWidth() * c.hiddenSize() + 2L * c.kvWidth() * c.hiddenSize()
                    + 3L * c.intermediateSize() * c.hiddenSize()) + c.hiddenSize();
            assertEquals(2 * params, report.bf16Bytes(), "bf16 bytes from the config");
            assertEquals(String.format(java.util.Locale.ROOT, "base weights: %.2f MiB nf4 (%.2f MiB in bf16), "
                            + "7 x 2 projections quantized, embeddings and lm_head bf16",
                    (nf4 + dense) / 1048576.0, 2 * elements / 1048576.0), report.line());
        }
        ModelFolders.writeRandom(dir.resolve("tied"), ModelFolders.MISTRAL_TIED, DType.F32, seed);
        try (LoadedModel model = ModelLoader.load(dir.resolve("tied"), LoadOptions.asStored())) {
            MemoryReport report = model.memory();
            assertEquals(0, report.quantizedBytes());
            assertNull(model.quantization());
            assertTrue(report.line().endsWith(", no projections quantized, tied embeddings and lm_head f32"),
                    report.line());
            ModelWeights w = model.weights();
            long dense = w.embedTokens().segment().byteSize() + w.norm().segment().byteSize();
            for (ModelWeights.Layer layer : w.layers()) {
                dense += layer.inputNorm().segment().byteSize() + layer.mlpNorm().segment().byteSize();
                for (LoraTarget t : LoraTarget.values()) {
                    dense += layer.projection(t).forUse(MemorySegment.NULL).segment().byteSize();
                }
            }
            assertEquals(dense, report.denseBytes(), "dense bytes, the tied table counted once");
        }
    }
}

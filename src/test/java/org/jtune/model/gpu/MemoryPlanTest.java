package org.jtune.model.gpu;

import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU step's memory plan, without a GPU: its regions against sizes counted here from the config, and the
 * refusal of a step that cannot fit, naming what each change would need.
 */
class MemoryPlanTest {
    private static final ProjectionFormat NF4 = new ProjectionFormat.Nf4(64, true, 256);
    private static final double GIB = 1024.0 * 1024 * 1024;

    private static MemoryPlan plan(ModelConfig c, ProjectionFormat format, StepShape shape, Checkpointing mode) {
        return GpuCausalLm.plan(c, BaseFormat.uniform(c, format), TestConfigs.LORA, shape, mode);
    }

    @ParameterizedTest
    @EnumSource(Checkpointing.class)
    void regionsAreDisjointAlignedAndInsideTheAllocation(Checkpointing mode) {
        for (ProjectionFormat format : List.of(new ProjectionFormat.Bf16(), NF4)) {
            MemoryPlan plan = plan(TestConfigs.tiny(0), format, new StepShape(2, 100, 3), mode);
            long end = 0;
            for (MemoryPlan.Region r : plan.regions()) {
                String where = mode + " " + format + ": region " + r;
                assertEquals(0, r.offset() % 256, where + " is not 256-byte aligned");
                assertTrue(r.offset() >= end, where + " overlaps the region before it (which ends at " + end + ")");
                end = r.offset() + r.bytes();
            }
            assertTrue(end <= plan.totalBytes(), mode + " " + format + ": regions end at " + end
                    + " past the allocation of " + plan.totalBytes());
        }
    }

    /** LoRA: per element fp32 master, bf16 copy, fp32 gradient and two fp32 moments = 18 bytes. */
    @Test
    void loraHoldsEighteenBytesPerTrainedElement() {
        ModelConfig c = TestConfigs.LLAMA3_8B;
        long elements = 0;
        for (LoraTarget t : LoraTarget.values()) {
            elements += 16L * (t.inFeatures(c) + t.outFeatures(c));
        }
        elements *= c.numLayers();
        MemoryPlan plan = plan(c, NF4, new StepShape(2, 2048, 1), Checkpointing.ON);
        assertEquals(18 * elements, plan.bytes(MemoryUse.LORA), "LoRA bytes of Llama-3-8B at r=16");
    }

    /**
     * Long context (Llama-3-8B, one row of 32,768 tokens, offloaded checkpoints): sizes past 2^31 bytes are counted
     * in long, the device keeps two layer-input slots and one recomputed layer, the host the 32 layer inputs.
     */
    @Test
    void longContextSizesAreCountedWithoutOverflow() {
        ModelConfig c = TestConfigs.LLAMA3_8B;
        long n = 32768, d = c.hiddenSize(), r = TestConfigs.LORA.rank();
        MemoryPlan plan = plan(c, NF4, new StepShape(1, 32768, 1), Checkpointing.OFFLOADED);
        long recomputedLayer = 4 * n + 2 * n * c.qWidth() * 2 + 2 * 2 * n * c.kvWidth() + 4 * n * c.numHeads()
                + 2 * n * d + 4 * n + 2 * 2 * n * c.intermediateSize()
                + TestConfigs.LORA.targets().size() * 2 * n * r;
        assertEquals(2 * 2 * n * d + recomputedLayer, plan.bytes(MemoryUse.ACTIVATIONS), "activations at 32k");
        assertEquals(2 * n * d * c.numLayers(), plan.pinnedHostBytes(), "offloaded layer inputs at 32k");
        MemoryPlan.Region swiglu = plan.regions().stream().filter(x -> x.name().equals("SwiGLU output"))
                .findFirst().orElseThrow();
        assertEquals(2 * n * c.intermediateSize(), swiglu.bytes(), "SwiGLU output at 32k");
        assertTrue(plan.totalBytes() > plan.bytes(MemoryUse.ACTIVATIONS) + plan.bytes(MemoryUse.WEIGHTS),
                "total " + plan.totalBytes() + " below its parts");
    }

    @Test
    void weightsAreBf16OrNf4WithTheirQuantState() {
        ModelConfig c = TestConfigs.LLAMA3_8B;
        long d = c.hiddenSize();
        long dense = 2L * c.vocabSize() * d * 2 + 2 * d + c.numLayers() * 2 * 2 * d; // embed, lm_head, norms
        long projectionElements = 0, nf4Bytes = 0;
        for (LoraTarget t : LoraTarget.values()) {
            long n = (long) t.inFeatures(c) * t.outFeatures(c);
            long blocks = (n + 63) / 64;
            projectionElements += n;
            // codes, one 8-bit absmax code per block, a float32 scale per 256 blocks, the 256-entry map
            nf4Bytes += n / 2 + blocks + 4 * ((blocks + 255) / 256) + 4 * 256;
        }
        StepShape shape = new StepShape(2, 2048, 1);
        assertEquals(dense + 2 * projectionElements * c.numLayers(),
                plan(c, new ProjectionFormat.Bf16(), shape, Checkpointing.ON).bytes(MemoryUse.WEIGHTS), "bf16 weights");
        assertEquals(dense + nf4Bytes * c.numLayers(), plan(c, NF4, shape, Checkpointing.ON).bytes(MemoryUse.WEIGHTS),
                "nf4 weights");
    }

    /**
     * Activations: the layer inputs (layers + 1 of them on the device, or two slots when offloaded, the rest in
     * pinned host memory), and one layer's saved state per layer without checkpointing or one recomputed state.
     */
    @Test
    void activationsFollowTheCheckpointingMode() {
        ModelConfig c = TestConfigs.LLAMA3_8B;
        long n = 2 * 2048, d = c.hiddenSize(), layers = c.numLayers();
        long state = 4 * n + 2 * n * c.qWidth() * 2 + 2 * n * c.kvWidth() * 2 + 4 * n * c.numHeads()
                + 2 * n * d + 4 * n + 2 * n * c.intermediateSize() * 2 + 7 * 2 * n * 16;
        long input = 2 * n * d;
        StepShape shape = new StepShape(2, 2048, 1);
        MemoryPlan off = plan(c, NF4, shape, Checkpointing.OFF);
        MemoryPlan on = plan(c, NF4, shape, Checkpointing.ON);
        MemoryPlan offloaded = plan(c, NF4, shape, Checkpointing.OFFLOADED);
        assertEquals((layers + 1) * input + layers * state, off.bytes(MemoryUse.ACTIVATIONS), "checkpointing off");
        assertEquals((layers + 1) * input + state, on.bytes(MemoryUse.ACTIVATIONS), "checkpointing on");
        assertEquals(2 * input + state, offloaded.bytes(MemoryUse.ACTIVATIONS), "offloaded");
        assertEquals(0, on.pinnedHostBytes(), "pinned host bytes without offloading");
        assertEquals(layers * input, offloaded.pinnedHostBytes(), "pinned host bytes of offloaded layer inputs");
        assertEquals(on.bytes(MemoryUse.WORKSPACE), off.bytes(MemoryUse.WORKSPACE), "workspace does not depend on mode");
        assertTrue(on.bytes(MemoryUse.WORKSPACE) < 1.5 * GIB, "workspace " + on.bytes(MemoryUse.WORKSPACE));
    }

    @Test
    void reportLineNamesEveryUseAndTheFreeMemory() {
        MemoryPlan plan = plan(TestConfigs.LLAMA3_8B, NF4, new StepShape(2, 2048, 1), Checkpointing.OFFLOADED);
        String line = plan.line(100L << 30);
        String expected = "weights " + size(plan.bytes(MemoryUse.WEIGHTS)) + " nf4, LoRA " + size(plan.bytes(MemoryUse.LORA))
                + ", activations " + size(plan.bytes(MemoryUse.ACTIVATIONS)) + ", workspace "
                + size(plan.bytes(MemoryUse.WORKSPACE)) + ", checkpoints offloaded to " + size(plan.pinnedHostBytes())
                + " of pinned host memory; total " + size(plan.totalBytes()) + " of 100.00 GiB free";
        assertEquals(expected, line);
    }

    /** As the report writes sizes: GiB, or MiB below one GiB. */
    private static String size(long bytes) {
        return bytes >= GIB ? String.format(Locale.ROOT, "%.2f GiB", bytes / GIB)
                : String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024));
    }

    @Test
    void aStepThatCannotFitSaysHowMuchItNeedsAndWhatEachChangeWouldNeed() {
        ModelConfig c = TestConfigs.LLAMA3_8B;
        LoraConfig lora = TestConfigs.LORA;
        BaseFormat bf16 = BaseFormat.uniform(c, new ProjectionFormat.Bf16());
        StepShape shape = new StepShape(8, 8192, 1);
        long free = 80L << 30;
        FitCheck.Request request = new FitCheck.Request(c, bf16, lora, shape, Checkpointing.OFF);
        MemoryPlan plan = request.plan();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> FitCheck.require(request, plan, free));
        String message = e.getMessage();
        assertTrue(message.startsWith("the GPU training step needs " + size(plan.totalBytes())
                + " of device memory but 80.00 GiB is free (weights"), message);
        assertTrue(message.contains("micro-batches of 8 x 8192 tokens, gradient checkpointing off"), message);
        long checkpointed = GpuCausalLm.plan(c, bf16, lora, shape, Checkpointing.ON).totalBytes();
        long offloaded = GpuCausalLm.plan(c, bf16, lora, shape, Checkpointing.OFFLOADED).totalBytes();
        long quantized = GpuCausalLm.plan(c, BaseFormat.uniform(c, NF4), lora, shape, Checkpointing.OFF).totalBytes();
        long smaller = GpuCausalLm.plan(c, bf16, lora, new StepShape(4, 8192, 1), Checkpointing.OFF).totalBytes();
        assertTrue(checkpointed < free && quantized > free, "this case needs one change that fits and one that"
                + " does not: checkpointing " + checkpointed + ", 4-bit " + quantized);
        for (String option : List.of(option("gradient checkpointing on", checkpointed, free),
                option("checkpoints offloaded to host memory", offloaded, free),
                option("a 4-bit (NF4) base", quantized, free),
                option("micro-batches of 4 x 8192 tokens (more gradient accumulation)", smaller, free))) {
            assertTrue(message.contains(option), "missing \"" + option + "\" in: " + message);
        }
        assertDoesNotThrow(() -> FitCheck.require(request, plan, plan.totalBytes()), "a plan that just fits");
    }

    private static String option(String what, long bytes, long free) {
        return what + ": " + size(bytes) + (bytes <= free ? " (fits)" : "");
    }

    @Test
    void modelsTheKernelsCannotRunAreRefusedWithTheReason() {
        ModelConfig headDim32 = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 1000,
                 "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 1, "num_attention_heads": 8,
                 "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "max_position_embeddings": 512}""", "head_dim 32");
        StepShape shape = new StepShape(1, 64, 1);
        IllegalArgumentException head = assertThrows(IllegalArgumentException.class, () -> GpuCausalLm.plan(
                headDim32, BaseFormat.uniform(headDim32, NF4), TestConfigs.LORA, shape, Checkpointing.ON));
        assertTrue(head.getMessage().contains("head_dim 32; GPU attention supports 64 and 128"), head.getMessage());
        ModelConfig tiny = TestConfigs.tiny(0);
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> GpuCausalLm.plan(tiny,
                BaseFormat.uniform(tiny, NF4), LoraConfig.allProjections(4, 8, false), shape, Checkpointing.ON));
        assertTrue(rank.getMessage().contains("LoRA rank 4 is not a multiple of 8"), rank.getMessage());
    }

    /**
     * Qwen3's step keeps, per layer state, q and k before their per-head norms and the norms' 1/rms per head; its
     * weights hold the two norm weights per layer. Qwen2's weights hold the q, k and v biases; its activations are
     * Llama's. Both counted here from the config, so that the fit check sees what the step will take.
     */
    @Test
    void qwenPlansCountTheirNormsBiasesAndSavedHeads() {
        StepShape shape = new StepShape(2, 2048, 1);
        long n = 2 * 2048;
        for (ModelConfig c : List.of(TestConfigs.QWEN25_7B, TestConfigs.QWEN3_8B)) {
            long d = c.hiddenSize(), layers = c.numLayers();
            boolean qkNorm = c.design().qkNorm();
            long state = 4 * n + 2 * n * c.qWidth() * 2 + 2 * n * c.kvWidth() * 2 + 4 * n * c.numHeads()
                    + 2 * n * d + 4 * n + 2 * n * c.intermediateSize() * 2 + 7 * 2 * n * 16;
            if (qkNorm) {
                state += 2 * n * c.qWidth() + 2 * n * c.kvWidth() + 4 * n * c.numHeads() + 4 * n * c.numKvHeads();
            }
            MemoryPlan on = plan(c, NF4, shape, Checkpointing.ON);
            MemoryPlan off = plan(c, NF4, shape, Checkpointing.OFF);
            assertEquals((layers + 1) * 2 * n * d + state, on.bytes(MemoryUse.ACTIVATIONS), c.modelType() + " on");
            assertEquals((layers + 1) * 2 * n * d + layers * state, off.bytes(MemoryUse.ACTIVATIONS),
                    c.modelType() + " off");

            long dense = 2L * c.vocabSize() * d * 2 + 2 * d + layers * 2 * 2 * d;
            long perLayer = 0;
            for (LoraTarget t : LoraTarget.values()) {
                perLayer += 2L * t.inFeatures(c) * t.outFeatures(c);
            }
            perLayer += c.qkvBias() ? 2L * (c.qWidth() + 2L * c.kvWidth()) : 0;
            perLayer += qkNorm ? 2 * 2L * c.headDim() : 0;
            assertEquals(dense + layers * perLayer,
                    plan(c, new ProjectionFormat.Bf16(), shape, Checkpointing.ON).bytes(MemoryUse.WEIGHTS),
                    c.modelType() + " bf16 weights");
        }
        assertTrue(TestConfigs.QWEN25_7B.qkvBias() && TestConfigs.QWEN3_8B.design().qkNorm(), "the shapes' designs");
    }

    /** Gemma 3 and projection biases beyond q/k/v stay on the CPU engine, and the message says what is missing. */
    @Test
    void layersTheGpuKernelsDoNotHaveAreRefusedByName() {
        ModelConfig gemma = ModelConfig.parse("""
                {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 1024,
                 "hidden_size": 512, "intermediate_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 1, "head_dim": 256, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 256,
                 "sliding_window": 64, "sliding_window_pattern": 2, "rope_theta": 1000000.0,
                 "rope_local_base_freq": 10000.0, "max_position_embeddings": 1024}""", "gemma3");
        ModelConfig oBias = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 1000,
                 "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 1, "num_attention_heads": 4,
                 "num_key_value_heads": 4, "rms_norm_eps": 1e-5, "attention_bias": true,
                 "max_position_embeddings": 512}""", "llama with attention_bias");
        StepShape shape = new StepShape(1, 64, 1);
        IllegalArgumentException step = assertThrows(IllegalArgumentException.class, () -> GpuCausalLm.plan(gemma,
                BaseFormat.uniform(gemma, NF4), TestConfigs.LORA, shape, Checkpointing.ON));
        IllegalArgumentException decode = assertThrows(IllegalArgumentException.class,
                () -> GpuDecodeEngine.plan(gemma, BaseFormat.uniform(gemma, NF4), null, 1, 64));
        for (IllegalArgumentException e : List.of(step, decode)) {
            for (String part : List.of("Gemma3ForCausalLM", "(1 + w) RMSNorm", "norms of the attention and MLP outputs",
                    "embeddings scaled by sqrt(hidden_size)", "GeGLU", "query_pre_attn_scalar", "local RoPE base",
                    "head_dim 256 (GPU flash attention has 64 and 128)", "runs on the CPU engine")) {
                assertTrue(e.getMessage().contains(part), "missing \"" + part + "\" in: " + e.getMessage());
            }
        }
        IllegalArgumentException bias = assertThrows(IllegalArgumentException.class, () -> GpuCausalLm.plan(oBias,
                BaseFormat.uniform(oBias, NF4), TestConfigs.LORA, shape, Checkpointing.ON));
        assertTrue(bias.getMessage().contains("o_proj bias (attention_bias); the GPU step supports biases on q, k"
                + " and v only"), bias.getMessage());
        assertDoesNotThrow(() -> GpuCausalLm.plan(TestConfigs.tinyQwen2(40),
                BaseFormat.uniform(TestConfigs.tinyQwen2(40), NF4), TestConfigs.LORA, shape, Checkpointing.ON));
        assertDoesNotThrow(() -> GpuDecodeEngine.plan(TestConfigs.tinyQwen3(),
                BaseFormat.uniform(TestConfigs.tinyQwen3(), NF4), TestConfigs.LORA, 2, 64));
    }

    /**
     * A decode engine whose layers have different windows (Qwen2: none on layer 0, 40 on layer 1) sizes its
     * attention scratch for the widest, the full cache; with one window everywhere (Mistral) for that window.
     */
    @Test
    void decodeAttentionScratchIsSizedForTheWidestLayer() {
        int sequences = 3, capacity = 640;
        for (ModelConfig c : List.of(TestConfigs.tinyQwen2(40), TestConfigs.tiny(40))) {
            int widest = c.windowOf(0);
            for (int l = 0; l < c.numLayers(); l++) {
                widest = c.windowOf(l) == 0 || widest == 0 ? 0 : Math.max(widest, c.windowOf(l));
            }
            var layout = new org.jtune.kernels.DecodeAttention.Layout(c.numHeads(), c.numKvHeads(), c.headDim(),
                    widest, sequences, capacity, DecodeBuffers.ATTENTION_ROWS);
            MemoryPlan plan = GpuDecodeEngine.plan(c, BaseFormat.uniform(c, new ProjectionFormat.Bf16()), null,
                    sequences, capacity);
            long partialSums = plan.regions().stream().filter(r -> r.name().equals("attention partial sums"))
                    .findFirst().orElseThrow().bytes();
            assertEquals(layout.partialSumBytes(), partialSums, c.modelType() + " windows " + c.windowOf(0) + ", "
                    + c.windowOf(1));
        }
        assertEquals(0, TestConfigs.tinyQwen2(40).windowOf(0));
        assertEquals(40, TestConfigs.tinyQwen2(40).windowOf(1));
    }
}

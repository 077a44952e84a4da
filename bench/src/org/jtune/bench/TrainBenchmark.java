package org.jtune.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.kernels.AdamWKernels;
import org.jtune.model.Batch;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;
import org.jtune.model.gpu.Checkpointing;
import org.jtune.model.gpu.GpuCausalLm;
import org.jtune.model.gpu.StepShape;
import org.jtune.quant.Nf4Weight;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

/**
 * The LoRA training step on the GPU at the shapes of Llama-2-7B, Mistral-7B and Llama-3-8B (run by default), and of
 * Qwen2.5-7B and Qwen3-8B (run when named with {@code --shape qwen2.5-7b --shape qwen3-8b}) with random weights,
 * as bench/peer/train_peer.py runs transformers + PEFT: bf16 base, LoRA r = 16, alpha 16 on all seven
 * projections, gradient checkpointing on, AdamW, clipping at 1, batch 2 x 2048 tokens (one document per row).
 * Records tokens per second over timed steps after warm-up steps, and the device memory of the step (its
 * planned allocation: weights, LoRA state, activations and workspace). Llama-3-8B is also run without
 * checkpointing, with offloaded checkpoints, and on an NF4 base (QLoRA; these have no peer), and at long context:
 * NF4 base, offloaded checkpoints, one row of 32,768 tokens, timed over fewer steps as each takes seconds (no peer:
 * the peer's run at that length would not be comparable). Besides the planned bytes, each variant records the
 * driver's used-memory growth after creating the step and after its steps. {@code --only NAME} runs the variants
 * whose "shape.variant" name starts with NAME, e.g. {@code --only llama3_8b.nf4.gc_offloaded.t32768};
 * {@code --shape NAME} (repeatable) runs the named shapes instead of the default ones.
 */
final class TrainBenchmark implements BenchMain.Benchmark {
    private static final int ROWS = 2, SEQ_LEN = 2048;
    private static final Steps STANDARD_STEPS = new Steps(2, 5);
    /** A step over 32k tokens takes seconds: fewer steps keep the run within minutes. */
    private static final Steps LONG_CONTEXT_STEPS = new Steps(1, 3);
    static final double GIB = 1024.0 * 1024 * 1024;
    static final LoraConfig LORA = LoraConfig.allProjections(16, 16, false);

    /**
     * @param name      in the records, e.g. "qwen2_5_7b"
     * @param option    as {@code --shape} names it, e.g. "qwen2.5-7b"
     * @param byDefault run when no {@code --shape} is given
     */
    record Shape(String name, String option, ModelConfig config, boolean byDefault) {}

    private record Steps(int warmup, int timed) {}

    private record Variant(String name, boolean nf4, Checkpointing mode, int rows, int seqLen, Steps steps) {
        Variant(String name, boolean nf4, Checkpointing mode) {
            this(name, nf4, mode, ROWS, SEQ_LEN, STANDARD_STEPS);
        }
    }

    private static final List<Shape> SHAPES = List.of(
            new Shape("llama2_7b", "llama2-7b", config("LlamaForCausalLM", "llama", 32000, 11008, 32, 4096, 10000,
                    ""), true),
            new Shape("mistral_7b", "mistral-7b", config("MistralForCausalLM", "mistral", 32000, 14336, 8, 32768,
                    10000, ", \"sliding_window\": 4096"), true),
            new Shape("llama3_8b", "llama3-8b", config("LlamaForCausalLM", "llama", 128256, 14336, 8, 8192, 500000,
                    ""), true),
            // q/k/v biases; no window (use_sliding_window is false in the released config)
            new Shape("qwen2_5_7b", "qwen2.5-7b", ModelConfig.parse("""
                    {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 152064,
                     "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                     "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
                     "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "sliding_window": 131072,
                     "max_window_layers": 28, "use_sliding_window": false, "tie_word_embeddings": false}""",
                    "qwen2 shape"), false),
            // per-head q/k norms, head_dim 128
            new Shape("qwen3_8b", "qwen3-8b", ModelConfig.parse("""
                    {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936,
                     "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                     "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
                     "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                     "tie_word_embeddings": false}""", "qwen3 shape"), false));

    static ModelConfig config(String arch, String type, int vocab, int inter, int kvHeads, int maxPos,
                                      double theta, String extra) {
        return ModelConfig.parse("""
                {"architectures": ["%s"], "model_type": "%s", "vocab_size": %d, "hidden_size": 4096,
                 "intermediate_size": %d, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "num_key_value_heads": %d, "max_position_embeddings": %d, "rms_norm_eps": 1e-5,
                 "rope_theta": %s, "tie_word_embeddings": false%s}""".formatted(arch, type, vocab, inter, kvHeads,
                maxPos, theta, extra), type + " shape");
    }

    private static List<Variant> variants(Shape shape) {
        List<Variant> variants = new ArrayList<>(List.of(new Variant("bf16.gc", false, Checkpointing.ON)));
        if (!shape.config().llamaLayers()) {
            variants.add(new Variant("nf4.gc", true, Checkpointing.ON));
        }
        if (shape.name().equals("llama3_8b")) {
            variants.add(new Variant("bf16.no_gc", false, Checkpointing.OFF));
            variants.add(new Variant("bf16.gc_offloaded", false, Checkpointing.OFFLOADED));
            variants.add(new Variant("nf4.gc", true, Checkpointing.ON));
            variants.add(new Variant("nf4.gc_offloaded.t32768", true, Checkpointing.OFFLOADED, 1, 32768,
                    LONG_CONTEXT_STEPS));
        }
        return variants;
    }

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        return run(records, "");
    }

    /** Runs the variants whose "shape.variant" name starts with {@code only} ("" for all). */
    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records, String only) {
        return run(records, only, List.of());
    }

    /**
     * Runs the variants of the shapes named by their {@code --shape} option (the default shapes if none is named)
     * whose "shape.variant" name starts with {@code only}.
     *
     * @throws IllegalArgumentException if a name is no shape's option (the message lists them)
     */
    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records, String only, List<String> shapeOptions) {
        List<Shape> shapes = shapes(shapeOptions);
        Context context = Context.primary(Device.get(0));
        List<BenchRecord> out = new ArrayList<>();
        for (Shape shape : shapes) {
            List<Variant> chosen = variants(shape).stream()
                    .filter(v -> (shape.name() + "." + v.name()).startsWith(only)).toList();
            if (chosen.isEmpty()) {
                continue;
            }
            ModelConfig c = shape.config();
            try (Arena arena = Arena.ofShared()) {
                WeightSource source = sharedRandomWeights(c, arena);
                for (Variant variant : chosen) {
                    out.addAll(runVariant(context, records, shape, variant, source, arena));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no train variant starts with \"" + only + "\"");
        }
        return out;
    }

    /** The shapes named, in the order given; the default ones for none. */
    static List<Shape> shapes(List<String> options) {
        if (options.isEmpty()) {
            return SHAPES.stream().filter(Shape::byDefault).toList();
        }
        List<Shape> chosen = new ArrayList<>();
        for (String option : options) {
            Shape shape = SHAPES.stream().filter(s -> s.option().equals(option)).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("no train shape \"" + option + "\"; the shapes are "
                            + SHAPES.stream().map(Shape::option).toList()));
            if (!chosen.contains(shape)) {
                chosen.add(shape);
            }
        }
        return chosen;
    }

    private static List<BenchRecord> runVariant(Context context, BenchMain.RecordMaker records, Shape shape,
                                                Variant variant, WeightSource source, Arena arena) {
        ModelConfig c = shape.config();
        ModelWeights weights = variant.nf4()
                ? ModelWeights.load(c, source, quantizedOncePerShape(arena))
                : ModelWeights.load(c, source);
        String prefix = "train." + shape.name() + "." + variant.name() + ".";
        long usedBefore = used(context);
        try (GpuCausalLm model = GpuCausalLm.create(context, c, weights, LORA,
                new StepShape(variant.rows(), variant.seqLen(), 1), variant.mode())) {
            long usedCreated = used(context);
            System.out.println(prefix + " " + model.memoryReport());
            LoraAdapters adapters = new LoraAdapters(c, LORA, arena);
            adapters.initPeftDefault(1);
            model.loadAdapters(adapters);
            Batch batch = batch(c.vocabSize(), variant.rows(), variant.seqLen());
            double tokensPerSecond = tokensPerSecond(model, batch, variant.steps());
            long usedAfterSteps = used(context);
            System.out.println(prefix + " timed over " + variant.steps().timed() + " steps after "
                    + variant.steps().warmup() + " warm-up");
            return List.of(records.make(prefix + "tokens_per_s", tokensPerSecond, "tokens/s", true),
                    records.make(prefix + "peak_gib", model.memoryPlan().totalBytes() / GIB, "GiB", false),
                    records.make(prefix + "driver_used_after_create_gib", (usedCreated - usedBefore) / GIB, "GiB",
                            false),
                    records.make(prefix + "driver_used_after_steps_gib", (usedAfterSteps - usedBefore) / GIB,
                            "GiB", false));
        }
    }

    /** Device memory in use as the driver reports it (all processes; the GPU is expected to be otherwise idle). */
    private static long used(Context context) {
        Context.MemoryInfo info = context.memoryInfo();
        return info.total() - info.free();
    }

    /** Wall-clock tokens per second over the timed steps (each step waits for its loss, as a trainer logs it). */
    private static double tokensPerSecond(GpuCausalLm model, Batch batch, Steps steps) {
        AdamWKernels.Hyper hyper = new AdamWKernels.Hyper(1e-4, 0.9, 0.999, 1e-8, 0.0);
        for (int i = 0; i < steps.warmup(); i++) {
            model.trainStep(List.of(batch), hyper, 1f);
        }
        long start = System.nanoTime();
        for (int i = 0; i < steps.timed(); i++) {
            model.trainStep(List.of(batch), hyper, 1f);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return (double) steps.timed() * batch.tokenCount() / seconds;
    }

    private static Batch batch(int vocab, int rows, int seqLen) {
        SplittableRandom random = new SplittableRandom(7);
        int[][] tokens = new int[rows][seqLen];
        for (int[] row : tokens) {
            for (int t = 0; t < row.length; t++) {
                row[t] = random.nextInt(vocab);
            }
        }
        return Batch.of(tokens, tokens);
    }

    /**
     * Random bf16 weights of the config's shapes, std 0.02 (norms 1): one tensor per distinct shape, shared by every
     * layer, so that making them takes seconds and little host memory. Speed does not depend on the values. A
     * family's extras are included where its config has them: q/k/v biases (Qwen2), per-head q/k norms (Qwen3).
     */
    static WeightSource sharedRandomWeights(ModelConfig c, Arena arena) {
        SplittableRandom random = new SplittableRandom(3);
        Map<String, Tensor> byShape = new HashMap<>();
        Map<String, Tensor> w = new HashMap<>();
        int d = c.hiddenSize(), inter = c.intermediateSize();
        w.put("model.embed_tokens.weight", random(arena, random, c.vocabSize(), d));
        w.put("lm_head.weight", random(arena, random, c.vocabSize(), d));
        Tensor norm = Tensor.allocate(arena, DType.BF16, d);
        norm.fill(1f);
        w.put("model.norm.weight", norm);
        Tensor headNorm = Tensor.allocate(arena, DType.BF16, c.headDim());
        headNorm.fill(1f);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = ModelWeights.layerPrefix(l);
            w.put(p + "input_layernorm.weight", norm);
            w.put(p + "post_attention_layernorm.weight", norm);
            w.put(p + "self_attn.q_proj.weight", shared(byShape, arena, random, c.qWidth(), d));
            w.put(p + "self_attn.k_proj.weight", shared(byShape, arena, random, c.kvWidth(), d));
            w.put(p + "self_attn.v_proj.weight", shared(byShape, arena, random, c.kvWidth(), d));
            w.put(p + "self_attn.o_proj.weight", shared(byShape, arena, random, d, c.qWidth()));
            w.put(p + "mlp.gate_proj.weight", shared(byShape, arena, random, inter, d));
            w.put(p + "mlp.up_proj.weight", shared(byShape, arena, random, inter, d));
            w.put(p + "mlp.down_proj.weight", shared(byShape, arena, random, d, inter));
            if (c.qkvBias()) {
                w.put(p + "self_attn.q_proj.bias", shared(byShape, arena, random, 1, c.qWidth()).reshape(c.qWidth()));
                w.put(p + "self_attn.k_proj.bias", shared(byShape, arena, random, 1, c.kvWidth()).reshape(c.kvWidth()));
                w.put(p + "self_attn.v_proj.bias", shared(byShape, arena, random, 1, c.kvWidth()).reshape(c.kvWidth()));
            }
            if (c.design().qkNorm()) {
                w.put(p + "self_attn.q_norm.weight", headNorm);
                w.put(p + "self_attn.k_norm.weight", headNorm);
            }
        }
        return WeightSource.of(w, "shared random weights");
    }

    private static Tensor shared(Map<String, Tensor> byShape, Arena arena, SplittableRandom random, int out, int in) {
        return byShape.computeIfAbsent(out + "x" + in, k -> random(arena, random, out, in));
    }

    private static Tensor random(Arena arena, SplittableRandom random, int rows, int columns) {
        Tensor t = Tensor.allocate(arena, DType.BF16, rows, columns);
        // Uniform with std 0.02.
        double bound = 0.02 * Math.sqrt(3);
        for (long i = 0; i < t.size(); i++) {
            t.set(i, (float) random.nextDouble(-bound, bound));
        }
        return t;
    }

    /** NF4 (block 64, double quantization) made once per distinct tensor, as the weights are shared. */
    static ModelWeights.DenseProjections quantizedOncePerShape(Arena arena) {
        Map<Tensor, FrozenLinearWeight> cache = new HashMap<>();
        return (module, weight) -> cache.computeIfAbsent(weight, t -> new FrozenLinearWeight.Nf4(Nf4Weight.quantize(
                module + ".weight", t.segment(), t.dtype(), t.shape(), 64, true, arena)));
    }
}

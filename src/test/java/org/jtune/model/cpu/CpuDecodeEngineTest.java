package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelLoader;
import org.jtune.model.Nf4OnLoad;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.train.MergedModelWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every logit of every prefill and decode step against the training model's full forward of the same prefix
 * ({@link CpuCausalLm} on {@link CpuOps}, which is matched to transformers), teacher-forced for 64 steps over
 * prompts of different lengths that start at different steps and share the slots (a finished sequence's slot
 * is reused), with both kernel sets (Vector API and plain loops).
 */
class CpuDecodeEngineTest {
    private static final int STEPS = 64;
    /** Prompt lengths: one token, short ones, and one longer than a prefill chunk. */
    private static final int[] PROMPTS = {1, 6, 17, CpuDecodeEngine.PREFILL_CHUNK + 13, 9};
    private static final int SLOTS = 3;

    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @AfterEach
    void close() {
        arena.close();
    }

    /** Llama with GQA and llama3 RoPE scaling. */
    static final ModelConfig LLAMA = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 37,
             "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 6, "rms_norm_eps": 1e-5, "max_position_embeddings": 256,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 32}, "rope_theta": 500000.0}""",
            "tiny llama");

    /** Mistral with a sliding window much shorter than the sequences. */
    static final ModelConfig MISTRAL = ModelConfig.parse("""
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 41,
             "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 1, "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "sliding_window": 7, "max_position_embeddings": 256}""", "tiny mistral");

    /** Llama with tied embeddings and biases on every projection. */
    static final ModelConfig LLAMA_TIED_BIASES = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 29,
             "hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
             "attention_bias": true, "mlp_bias": true, "max_position_embeddings": 256}""", "tiny tied llama");

    /** Llama whose MLP width is odd: rows of down_proj start mid-byte and mid-block in NF4. */
    static final ModelConfig LLAMA_ODD_WIDTH = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 37,
             "hidden_size": 24, "intermediate_size": 45, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 6, "rms_norm_eps": 1e-5, "max_position_embeddings": 256}""",
            "tiny llama, odd MLP width");

    /** Qwen2: q/k/v biases, tied embeddings, the second layer windowed. */
    static final ModelConfig QWEN2 = ModelConfig.parse("""
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 33,
             "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "tie_word_embeddings": true, "rope_theta": 1000000.0,
             "use_sliding_window": true, "sliding_window": 5, "max_window_layers": 1,
             "max_position_embeddings": 256}""", "tiny qwen2");

    /** Qwen3: per-head q/k norms and a head_dim apart from hidden_size / heads. */
    static final ModelConfig QWEN3 = ModelConfig.parse("""
            {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 35,
             "hidden_size": 16, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "max_position_embeddings": 256}""", "tiny qwen3");

    /** Gemma 3: local, global and local layers with their own RoPE bases, and everything else Gemma changes. */
    static final ModelConfig GEMMA3 = ModelConfig.parse("""
            {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 39,
             "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 3, "num_attention_heads": 2,
             "num_key_value_heads": 1, "head_dim": 8, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 10,
             "sliding_window": 6, "sliding_window_pattern": 2, "rope_theta": 1000000.0,
             "rope_local_base_freq": 100.0, "rope_scaling": {"rope_type": "linear", "factor": 4.0},
             "max_position_embeddings": 256}""", "tiny gemma3");

    private static final LoraConfig LORA = LoraConfig.allProjections(4, 8, false);

    @Test
    void familiesWithAdapters() {
        for (ModelConfig c : new ModelConfig[] {QWEN2, QWEN3, GEMMA3}) {
            check(c, weights(c, DType.F32), randomAdapters(c), true);
        }
        check(GEMMA3, weights(GEMMA3, DType.BF16), null, true);
    }

    @Test
    void llamaBaseModel() {
        check(LLAMA, weights(LLAMA, DType.F32), null, true);
    }

    @Test
    void mistralSlidingWindowBaseModel() {
        check(MISTRAL, weights(MISTRAL, DType.F32), null, true);
    }

    @Test
    void tiedEmbeddingsAndBiases() {
        check(LLAMA_TIED_BIASES, weights(LLAMA_TIED_BIASES, DType.F32), null, true);
    }

    @Test
    void bf16Weights() {
        check(MISTRAL, weights(MISTRAL, DType.BF16), null, true);
    }

    @Test
    void withAdapter() {
        ModelWeights w = weights(LLAMA, DType.F32);
        check(LLAMA, w, randomAdapters(LLAMA), true);
    }

    @Test
    void mistralWithAdapter() {
        check(MISTRAL, weights(MISTRAL, DType.BF16), randomAdapters(MISTRAL), true);
    }

    @Test
    void adapterSwitchedOffIsTheBaseModel() {
        check(MISTRAL, weights(MISTRAL, DType.F32), randomAdapters(MISTRAL), false);
    }

    @Test
    void nf4BaseModel() {
        WeightSource source = RandomWeights.create(LLAMA_ODD_WIDTH, DType.BF16, 0.2, seed, arena);
        ModelWeights nf4 = ModelWeights.load(LLAMA_ODD_WIDTH, source, new Nf4OnLoad(64, true, arena));
        check(LLAMA_ODD_WIDTH, nf4, randomAdapters(LLAMA_ODD_WIDTH), true);
    }

    /** A model with the adapter merged into its weights decodes as the base model with the adapter on the fly. */
    @Test
    void mergedModelEqualsAdapterOnTheFly(@TempDir Path dir) throws IOException {
        WeightSource source = RandomWeights.create(MISTRAL, DType.F32, 0.2, seed, arena);
        LoraAdapters lora = randomAdapters(MISTRAL);
        MergedModelWriter.write(dir, MISTRAL, source, lora, DType.F32, null, Long.MAX_VALUE);
        int[] tokens = randomTokens(MISTRAL, 40);
        try (LoadedModel merged = ModelLoader.load(dir, LoadOptions.asStored());
             CpuDecodeEngine onTheFly = new CpuDecodeEngine(MISTRAL, ModelWeights.load(MISTRAL, source), lora, 1, 64);
             CpuDecodeEngine mergedEngine = new CpuDecodeEngine(MISTRAL, merged.weights(), null, 1, 64)) {
            float[] a = new float[MISTRAL.vocabSize()], b = new float[MISTRAL.vocabSize()];
            onTheFly.prefill(0, Arrays.copyOf(tokens, 5), a);
            mergedEngine.prefill(0, Arrays.copyOf(tokens, 5), b);
            assertClose(a, 0, b, 0, MISTRAL.vocabSize(), "prefill");
            for (int t = 5; t < tokens.length; t++) {
                onTheFly.decode(new int[] {0}, new int[] {tokens[t]}, a);
                mergedEngine.decode(new int[] {0}, new int[] {tokens[t]}, b);
                assertClose(a, 0, b, 0, MISTRAL.vocabSize(), "decode at position " + t);
            }
        }
    }

    @Test
    void refusesWhatItCannotHold() {
        try (CpuDecodeEngine engine = new CpuDecodeEngine(MISTRAL, weights(MISTRAL, DType.F32), null, 2, 8)) {
            float[] logits = new float[2 * MISTRAL.vocabSize()];
            assertThrows(IllegalArgumentException.class, () -> engine.prefill(2, new int[] {1}, logits));
            assertThrows(IllegalArgumentException.class, () -> engine.prefill(0, new int[9], logits));
            assertThrows(IllegalArgumentException.class, () -> engine.prefill(0, new int[] {41}, logits));
            assertThrows(IllegalArgumentException.class, () -> engine.prefill(0, new int[0], logits));
            engine.prefill(0, new int[8], logits);
            assertEquals(8, engine.length(0));
            IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                    () -> engine.decode(new int[] {0}, new int[] {1}, logits));
            assertTrue(full.getMessage().contains("capacity"), full.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> engine.decode(new int[] {1, 1}, new int[] {1, 2}, logits));
            engine.reset(0);
            assertEquals(0, engine.length(0));
            engine.decode(new int[] {1, 0}, new int[] {1, 2}, logits);
            assertEquals(1, engine.length(0));
        }
        assertThrows(IllegalArgumentException.class,
                () -> new CpuDecodeEngine(MISTRAL, weights(MISTRAL, DType.F32), null, 1, 257));
    }

    private ModelWeights weights(ModelConfig config, DType dtype) {
        return ModelWeights.load(config, RandomWeights.create(config, dtype, 0.2, seed, arena));
    }

    /** Every A and B random, so that every adapter changes the logits. */
    private LoraAdapters randomAdapters(ModelConfig config) {
        LoraAdapters lora = new LoraAdapters(config, LORA, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        return lora;
    }

    private int[] randomTokens(ModelConfig config, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(config.vocabSize());
        }
        return t;
    }

    private List<RowMath> kernels() {
        List<RowMath> list = new ArrayList<>(List.of(new ScalarRowMath()));
        if (RowMath.vectorApiAvailable()) {
            list.add(new VectorRowMath());
        }
        return list;
    }

    /**
     * Decodes every sequence with the engine (adapters on or off) and compares each step's logits with the
     * reference's logits at the same position of the whole sequence: the model is causal, so those are the
     * logits of a full forward of the prefix.
     */
    private void check(ModelConfig config, ModelWeights weights, LoraAdapters lora, boolean adaptersOn) {
        int[][] sequences = new int[PROMPTS.length][];
        for (int s = 0; s < PROMPTS.length; s++) {
            sequences[s] = randomTokens(config, PROMPTS[s] + STEPS);
        }
        float[][][] expected = reference(config, weights, adaptersOn ? lora : null, sequences);
        for (RowMath math : kernels()) {
            try (CpuDecodeEngine engine = new CpuDecodeEngine(config, weights, lora, SLOTS, 256, math)) {
                engine.setAdaptersEnabled(adaptersOn);
                decodeAll(engine, sequences, expected, "seed " + seed + ", " + math.describe());
            }
        }
    }

    private float[][][] reference(ModelConfig config, ModelWeights weights, LoraAdapters lora, int[][] sequences) {
        float[][][] logits = new float[sequences.length][][];
        int longest = Arrays.stream(sequences).mapToInt(s -> s.length).max().orElseThrow();
        try (CpuCausalLm model = new CpuCausalLm(config, weights, lora, new CpuOps(), 1, longest, false)) {
            for (int s = 0; s < sequences.length; s++) {
                int n = sequences[s].length;
                int[] labels = new int[n];
                Arrays.fill(labels, Batch.IGNORE_INDEX);
                Tensor out = Tensor.f32(arena, n, config.vocabSize());
                model.forward(Batch.of(new int[][] {sequences[s]}, new int[][] {labels}), out);
                logits[s] = new float[n][];
                for (int t = 0; t < n; t++) {
                    logits[s][t] = new float[config.vocabSize()];
                    out.readRow(t, logits[s][t]);
                }
            }
        }
        return logits;
    }

    /**
     * Sequence s starts at tick 3·s when a slot is free (prefill), then decodes one token per tick with whatever
     * else is active, in a shuffled slot order; its slot is reset for the next sequence when its steps are done.
     */
    private void decodeAll(CpuDecodeEngine engine, int[][] sequences, float[][][] expected, String what) {
        int vocab = engine.vocabSize();
        Deque<Integer> free = new ArrayDeque<>();
        for (int slot = 0; slot < SLOTS; slot++) {
            free.add(slot);
        }
        int[] slotOf = new int[sequences.length], done = new int[sequences.length];
        Arrays.fill(slotOf, -1);
        int started = 0, finished = 0;
        float[] logits = new float[SLOTS * vocab];
        for (int tick = 0; finished < sequences.length; tick++) {
            while (started < sequences.length && started * 3 <= tick && !free.isEmpty()) {
                int s = started++, slot = free.poll();
                engine.reset(slot);
                slotOf[s] = slot;
                engine.prefill(slot, Arrays.copyOf(sequences[s], PROMPTS[s]), logits);
                assertClose(expected[s][PROMPTS[s] - 1], 0, logits, 0, vocab,
                        what + ": sequence " + s + ", prefill of " + PROMPTS[s] + " tokens");
            }
            List<Integer> active = new ArrayList<>();
            for (int s = 0; s < started; s++) {
                if (slotOf[s] >= 0) {
                    active.add(s);
                }
            }
            Collections.shuffle(active, rnd);
            int[] slots = new int[active.size()], tokens = new int[active.size()];
            for (int i = 0; i < slots.length; i++) {
                int s = active.get(i);
                slots[i] = slotOf[s];
                tokens[i] = sequences[s][PROMPTS[s] + done[s]];
            }
            engine.decode(slots, tokens, logits);
            for (int i = 0; i < slots.length; i++) {
                int s = active.get(i), position = PROMPTS[s] + done[s];
                assertEquals(position + 1, engine.length(slots[i]));
                assertClose(expected[s][position], 0, logits, i * vocab, vocab,
                        what + ": sequence " + s + ", decode step " + done[s] + " (position " + position + ")");
                if (++done[s] == STEPS) {
                    free.add(slotOf[s]);
                    slotOf[s] = -1;
                    finished++;
                }
            }
        }
    }

    /** fp32 tolerance: the engine sums in float32, the reference in double. */
    private static void assertClose(float[] expected, int eAt, float[] actual, int aAt, int n, String what) {
        for (int j = 0; j < n; j++) {
            float e = expected[eAt + j], a = actual[aAt + j];
            if (!(Math.abs(a - e) <= 1e-4 * (1 + Math.abs(e)))) {
                fail(what + ": logit " + j + " is " + a + ", expected " + e);
            }
        }
    }
}

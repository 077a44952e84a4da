package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.cuda.GpuTest;
import org.jtune.model.Batch;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.Nf4OnLoad;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.model.cpu.CpuOps;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The GPU decode engine against the CPU engine's full forward ({@link CpuCausalLm} on {@link CpuOps}, fp32
 * activations) on the same bf16 weights: tiny Llama and Mistral models (sliding window 40, shorter than the
 * sequences), prompts prefilled in one call, in two calls (the second over a non-empty cache) and in chunks (longer
 * than a prefill chunk), then teacher-forced decode steps of several slots together and of subsets in another
 * order; every prefill's and every step's logits are checked against the CPU logits at that position.
 *
 * <p>Tolerance: the GPU rounds every activation to bf16 (u = 2^-8), the CPU keeps fp32; through two layers the
 * logits pick up a few independent roundings of relative size u, so a logit vector differs by about u (relative,
 * Euclidean). Checked: within 8u relative to the CPU vector's norm, and every logit within 32u of the vector's rms
 * plus 4u of itself. A wrong position, key, window or cache entry moves logits by order one.
 */
@GpuTest
class GpuDecodeEngineGpuTest {
    private static final double U = 0x1p-8;
    private static final int STEPS = 40;

    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @AfterEach
    void close() {
        arena.close();
    }

    private static Context context() {
        return Context.primary(Device.get(0));
    }

    private ModelWeights weights(ModelConfig c, boolean nf4) {
        WeightSource source = RandomWeights.create(c, DType.BF16, 0.05, seed, arena);
        return nf4 ? ModelWeights.load(c, source, new Nf4OnLoad(64, true, arena)) : ModelWeights.load(c, source);
    }

    /** A and B random (B too, so that the adapters change the output), rounded to bf16. */
    private LoraAdapters randomAdapters(ModelConfig c) {
        LoraAdapters lora = new LoraAdapters(c, TestConfigs.LORA, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) (rnd.nextGaussian() * 0.05))));
            }
        }
        return lora;
    }

    private int[] randomTokens(int n, int vocab) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = rnd.nextInt(vocab);
        }
        return tokens;
    }

    /** CPU logits [position][vocab] of a whole sequence (each position's logits depend only on its prefix). */
    private static float[][] cpuLogits(ModelConfig c, ModelWeights w, LoraAdapters lora, boolean adapters,
                                       int[] tokens) {
        int n = tokens.length;
        int[] labels = new int[n];
        Arrays.fill(labels, -100);
        try (Arena a = Arena.ofConfined();
             CpuCausalLm model = new CpuCausalLm(c, w, lora, new CpuOps(), 1, n, false)) {
            model.setAdaptersEnabled(adapters);
            Tensor logits = Tensor.f32(a, n, c.vocabSize());
            model.forward(Batch.of(new int[][] {tokens}, new int[][] {labels}), logits);
            float[][] out = new float[n][c.vocabSize()];
            for (int t = 0; t < n; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    out[t][v] = logits.get((long) t * c.vocabSize() + v);
                }
            }
            return out;
        }
    }

    private void assertLogitsClose(float[] expected, float[] got, int offset, String where) {
        double diff = 0, norm = 0;
        for (int v = 0; v < expected.length; v++) {
            double e = expected[v], g = got[offset + v];
            if (!Double.isFinite(g)) {
                fail(where + ": logit " + v + " is " + g + ", seed " + seed);
            }
            diff += (g - e) * (g - e);
            norm += e * e;
        }
        double rms = Math.sqrt(norm / expected.length);
        assertTrue(Math.sqrt(diff) <= 8 * U * Math.sqrt(norm), where + ": logits off by " + Math.sqrt(diff / norm)
                + " (relative, Euclidean), allowed " + 8 * U + ", seed " + seed);
        for (int v = 0; v < expected.length; v++) {
            double e = expected[v], g = got[offset + v];
            if (Math.abs(g - e) > 32 * U * rms + 4 * U * Math.abs(e)) {
                fail(where + ": logit " + v + " is " + g + ", expected " + e + " (rms " + rms + "), seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
        // sliding window, nf4 base, adapters
        "0, false, false", "40, false, false", "0, true, false", "40, true, true", "0, false, true"})
    void teacherForcedDecodingMatchesTheCpuForward(int window, boolean nf4, boolean adapters) {
        ModelConfig c = TestConfigs.tiny(window);
        teacherForcedDecoding(c, weights(c, nf4), adapters,
                "window " + window + (nf4 ? ", nf4" : ", bf16") + (adapters ? ", adapters" : ""));
    }

    /**
     * Qwen2 (q/k/v biases, tied embeddings, a window of 40 on the second layer only) and Qwen3 (per-head q/k norms,
     * head_dim 128 apart from hidden 192), with biases and q/k projections large enough that a missing bias or norm
     * would fail ({@link FamilyWeights}): the same prefills and decode steps against the CPU forward.
     */
    @ParameterizedTest
    @CsvSource({
        // family, nf4 base, adapters
        "qwen2, false, false", "qwen2, true, true", "qwen3, false, true", "qwen3, true, false"})
    void qwenTeacherForcedDecodingMatchesTheCpuForward(String family, boolean nf4, boolean adapters) {
        ModelConfig c = TestConfigs.tiny(family);
        teacherForcedDecoding(c, FamilyWeights.create(c, nf4, seed, arena), adapters,
                family + (nf4 ? ", nf4" : ", bf16") + (adapters ? ", adapters" : ""));
    }

    private void teacherForcedDecoding(ModelConfig c, ModelWeights w, boolean adapters, String what) {
        LoraAdapters lora = adapters ? randomAdapters(c) : null;
        int[] prompts = {5, 17, 530};
        int[][] sequences = new int[prompts.length][];
        float[][][] expected = new float[prompts.length][][];
        for (int s = 0; s < prompts.length; s++) {
            sequences[s] = randomTokens(prompts[s] + STEPS, c.vocabSize());
            expected[s] = cpuLogits(c, w, lora, adapters, sequences[s]);
        }
        int vocab = c.vocabSize();
        try (GpuDecodeEngine engine = GpuDecodeEngine.create(context(), c, w, lora, 3, 640)) {
            float[] logits = new float[3 * vocab];
            // slot 0 in one call; slot 1 in two (the second over the cache); slot 2 in chunks
            engine.prefill(0, Arrays.copyOf(sequences[0], prompts[0]), logits);
            assertLogitsClose(expected[0][prompts[0] - 1], logits, 0, what + ", prefill of slot 0");
            engine.prefill(1, Arrays.copyOf(sequences[1], 9), logits);
            assertLogitsClose(expected[1][8], logits, 0, what + ", first prefill of slot 1");
            engine.prefill(1, Arrays.copyOfRange(sequences[1], 9, prompts[1]), logits);
            assertLogitsClose(expected[1][prompts[1] - 1], logits, 0, what + ", second prefill of slot 1");
            engine.prefill(2, Arrays.copyOf(sequences[2], prompts[2]), logits);
            assertLogitsClose(expected[2][prompts[2] - 1], logits, 0, what + ", chunked prefill of slot 2");
            for (int step = 0; step < STEPS; step++) {
                int[] slots = step % 7 == 3 ? new int[] {2, 0} : step % 7 == 5 ? new int[] {1} : new int[] {0, 1, 2};
                int[] tokens = new int[slots.length];
                for (int i = 0; i < slots.length; i++) {
                    tokens[i] = sequences[slots[i]][engine.length(slots[i])];
                }
                int[] positions = new int[slots.length];
                for (int i = 0; i < slots.length; i++) {
                    positions[i] = engine.length(slots[i]);
                }
                engine.decode(slots, tokens, logits);
                for (int i = 0; i < slots.length; i++) {
                    assertEquals(positions[i] + 1, engine.length(slots[i]));
                    assertLogitsClose(expected[slots[i]][positions[i]], logits, i * vocab,
                            what + ", step " + step + ", slot " + slots[i] + " at position " + positions[i]);
                }
            }
            if (adapters) {
                // The base model alone, in a slot used again after a reset.
                engine.setAdaptersEnabled(false);
                engine.reset(0);
                int[] fresh = randomTokens(30, vocab);
                float[][] base = cpuLogits(c, w, lora, false, fresh);
                engine.prefill(0, Arrays.copyOf(fresh, 20), logits);
                assertLogitsClose(base[19], logits, 0, what + ", adapters off, prefill");
                for (int t = 20; t < 30; t++) {
                    engine.decode(new int[] {0}, new int[] {fresh[t]}, logits);
                    assertLogitsClose(base[t], logits, 0, what + ", adapters off, position " + t);
                }
            }
        }
    }

    /** Adapters folded into the weights (W + s·B·A, rounded to bf16) decode like the base with the adapters on. */
    @Test
    void mergedModelDecodesLikeTheAdapters() {
        ModelConfig c = TestConfigs.tiny(0);
        ModelWeights w = weights(c, false);
        LoraAdapters lora = randomAdapters(c);
        ModelWeights merged = merge(c, w, lora);
        int[] tokens = randomTokens(40, c.vocabSize());
        float[][] expected = cpuLogits(c, w, lora, true, tokens);
        float[] logits = new float[c.vocabSize()];
        try (GpuDecodeEngine engine = GpuDecodeEngine.create(context(), c, merged, null, 1, 64)) {
            engine.prefill(0, Arrays.copyOf(tokens, 25), logits);
            assertLogitsClose(expected[24], logits, 0, "merged model, prefill");
            for (int t = 25; t < tokens.length; t++) {
                engine.decode(new int[] {0}, new int[] {tokens[t]}, logits);
                assertLogitsClose(expected[t], logits, 0, "merged model, position " + t);
            }
        }
    }

    private ModelWeights merge(ModelConfig c, ModelWeights w, LoraAdapters lora) {
        float scaling = lora.config().scaling();
        Map<LoraTarget, Tensor> merged = new HashMap<>();
        List<ModelWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            ModelWeights.Layer layer = w.layers().get(l);
            merged.clear();
            for (LoraTarget t : LoraTarget.values()) {
                Tensor base = ((FrozenLinearWeight.Dense) layer.projection(t)).tensor();
                LoraAdapters.Adapter ad = lora.adapter(l, t);
                int out = t.outFeatures(c), in = t.inFeatures(c), r = lora.config().rank();
                Tensor m = Tensor.allocate(arena, DType.BF16, out, in);
                for (int i = 0; i < out; i++) {
                    for (int j = 0; j < in; j++) {
                        double sum = 0;
                        for (int k = 0; k < r; k++) {
                            sum += (double) ad.b().get((long) i * r + k) * ad.a().get((long) k * in + j);
                        }
                        m.set((long) i * in + j, (float) (base.get((long) i * in + j) + scaling * sum));
                    }
                }
                merged.put(t, m);
            }
            layers.add(new ModelWeights.Layer(layer.inputNorm(), dense(merged, LoraTarget.Q),
                    dense(merged, LoraTarget.K), dense(merged, LoraTarget.V), dense(merged, LoraTarget.O), null, null,
                    null, null, layer.mlpNorm(), dense(merged, LoraTarget.GATE),
                    dense(merged, LoraTarget.UP), dense(merged, LoraTarget.DOWN), null, null, null, null, null, null, null));
        }
        return new ModelWeights(w.embedTokens(), layers, w.norm(), w.lmHead());
    }

    private static FrozenLinearWeight dense(Map<LoraTarget, Tensor> m, LoraTarget t) {
        return new FrozenLinearWeight.Dense(m.get(t));
    }

    @Test
    void refusesWhatItCannotHold() {
        ModelConfig c = TestConfigs.tiny(0);
        ModelWeights w = weights(c, false);
        try (GpuDecodeEngine engine = GpuDecodeEngine.create(context(), c, w, null, 2, 16)) {
            float[] logits = new float[2 * c.vocabSize()];
            var error = assertThrows(IllegalArgumentException.class,
                    () -> engine.prefill(0, randomTokens(17, c.vocabSize()), logits));
            assertTrue(error.getMessage().contains("capacity of 16"), error.getMessage());
            engine.prefill(0, randomTokens(16, c.vocabSize()), logits);
            error = assertThrows(IllegalArgumentException.class,
                    () -> engine.decode(new int[] {0}, new int[] {1}, logits));
            assertTrue(error.getMessage().contains("slot 0 is full"), error.getMessage());
            error = assertThrows(IllegalArgumentException.class,
                    () -> engine.decode(new int[] {1, 1}, new int[] {1, 2}, logits));
            assertTrue(error.getMessage().contains("twice"), error.getMessage());
            error = assertThrows(IllegalArgumentException.class,
                    () -> engine.decode(new int[] {1}, new int[] {c.vocabSize()}, logits));
            assertTrue(error.getMessage().contains("outside the vocabulary"), error.getMessage());
            assertEquals(16, engine.length(0));
            assertEquals(0, engine.length(1));
        }
    }
}

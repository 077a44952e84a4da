package org.jtune.generate;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.cpu.CpuDecodeEngine;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.ByteTokenizer;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching on a tiny random model with a byte tokenizer: more requests than slots, each giving what
 * greedy decoding by full forwards gives alone; stops at EOS, stop strings and max_new_tokens; seeded sampling that
 * does not depend on the company; cancelled requests free their slot.
 */
class BatchSchedulerTest {
    static final ModelConfig CONFIG = ModelConfig.parse("""
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 258,
             "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "sliding_window": 9, "max_position_embeddings": 128}""", "tiny byte mistral");
    private static final int CAPACITY = 64;

    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private final Tokenizer tokenizer = ByteTokenizer.create();
    private final ModelWeights weights = ModelWeights.load(CONFIG,
            RandomWeights.create(CONFIG, DType.F32, 0.5, seed, arena));

    @AfterEach
    void close() {
        arena.close();
    }

    private BatchScheduler scheduler(int slots) {
        return new BatchScheduler(new CpuDecodeEngine(CONFIG, weights, null, slots, CAPACITY), tokenizer);
    }

    private int[] prompt(int length) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 'a' + rnd.nextInt(26);
        }
        return p;
    }

    /** Greedy decoding the slow, obvious way: a full forward of the whole sequence for every new token. */
    private int[] referenceGreedy(int[] prompt, int maxNew, Set<Integer> eos) {
        List<Integer> out = new ArrayList<>();
        int[] seq = prompt.clone();
        try (CpuCausalLm model = new CpuCausalLm(CONFIG, weights, null, new CpuOps(), 1, CAPACITY, false)) {
            while (out.size() < maxNew && seq.length < CAPACITY) {
                int[] labels = new int[seq.length];
                Arrays.fill(labels, Batch.IGNORE_INDEX);
                Tensor logits = Tensor.f32(arena, seq.length, CONFIG.vocabSize());
                model.forward(Batch.of(new int[][] {seq}, new int[][] {labels}), logits);
                float[] last = new float[CONFIG.vocabSize()];
                logits.readRow(seq.length - 1, last);
                int next = TokenSampler.argmax(last);
                if (eos.contains(next)) {
                    break;
                }
                out.add(next);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void moreRequestsThanSlotsEachAsIfAlone() {
        int[][] prompts = {prompt(3), prompt(11), prompt(1), prompt(25), prompt(7)};
        int[] maxNew = {12, 5, 20, 9, 14};
        try (BatchScheduler scheduler = scheduler(2)) {
            List<Generation> gens = new ArrayList<>();
            List<StringBuilder> streamed = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                StringBuilder sb = new StringBuilder();
                streamed.add(sb);
                gens.add(scheduler.submit(prompts[i], GenerationConfig.greedy(maxNew[i]), sb::append));
            }
            for (int i = 0; i < prompts.length; i++) {
                GenerationResult r = gens.get(i).join();
                assertArrayEquals(referenceGreedy(prompts[i], maxNew[i], Set.of()), r.tokens(),
                        "seed " + seed + ", request " + i);
                assertEquals(FinishReason.LENGTH, r.finishReason());
                assertEquals(prompts[i].length, r.promptTokens());
                assertEquals(tokenizer.decode(r.tokens(), true), r.text());
                assertEquals(r.text(), streamed.get(i).toString());
            }
        }
    }

    @Test
    void stopsAtAnEosTokenAndLeavesItOut() {
        int[] p = prompt(6);
        int[] free = referenceGreedy(p, 10, Set.of());
        int eos = free[4];
        int[] expected = referenceGreedy(p, 10, Set.of(eos));
        try (BatchScheduler scheduler = scheduler(1)) {
            GenerationResult r = scheduler.submit(p, GenerationConfig.greedy(10).withEosTokenIds(Set.of(eos)), null)
                    .join();
            assertArrayEquals(expected, r.tokens());
            assertTrue(expected.length <= 4);
            assertEquals(FinishReason.STOP, r.finishReason());
        }
    }

    @Test
    void stopsAtAStopStringAndCutsIt() {
        int[] p = prompt(5);
        try (BatchScheduler scheduler = scheduler(1)) {
            GenerationResult free = scheduler.submit(p, GenerationConfig.greedy(30), null).join();
            String text = free.text();
            int at = -1;
            for (int i = 3; i + 2 <= text.length() && at < 0; i++) {
                if (!text.substring(i, i + 2).contains("\uFFFD") && text.indexOf(text.substring(i, i + 2)) == i) {
                    at = i;
                }
            }
            assertTrue(at > 0, "no usable stop string in '" + text + "'");
            String stop = text.substring(at, at + 2);
            StringBuilder streamed = new StringBuilder();
            GenerationResult r = scheduler.submit(p, GenerationConfig.greedy(30).withStopStrings(List.of(stop)),
                    streamed::append).join();
            assertEquals(text.substring(0, at), r.text());
            assertEquals(r.text(), streamed.toString());
            assertEquals(FinishReason.STOP, r.finishReason());
        }
    }

    @Test
    void seededSamplingDoesNotDependOnTheCompany() {
        GenerationConfig sampled = GenerationConfig.defaults().withDoSample(true).withTemperature(1.3).withTopK(0)
                .withMaxNewTokens(15).withSeed(seed);
        int[] p = prompt(4);
        int[] alone;
        try (BatchScheduler scheduler = scheduler(3)) {
            alone = scheduler.submit(p, sampled, null).join().tokens();
        }
        try (BatchScheduler scheduler = scheduler(3)) {
            Generation other1 = scheduler.submit(prompt(9), sampled.withSeed(seed + 1), null);
            Generation mine = scheduler.submit(p, sampled, null);
            Generation other2 = scheduler.submit(prompt(2), GenerationConfig.greedy(30), null);
            assertArrayEquals(alone, mine.join().tokens());
            other1.join();
            other2.join();
            GenerationResult differentSeed = scheduler.submit(p, sampled.withSeed(seed + 7), null).join();
            assertTrue(!Arrays.equals(alone, differentSeed.tokens()), "another seed drew the same 15 tokens");
        }
    }

    @Test
    void aCancelledRequestFreesItsSlot() throws Exception {
        try (BatchScheduler scheduler = scheduler(1)) {
            CountDownLatch started = new CountDownLatch(1), cancelled = new CountDownLatch(1);
            Generation endless = scheduler.submit(prompt(3), GenerationConfig.greedy(10_000), piece -> {
                started.countDown();
                awaitQuietly(cancelled); // hold the scheduler until the request is cancelled mid-way
            });
            started.await();
            endless.cancel();
            cancelled.countDown();
            assertThrows(CancellationException.class, endless::join);
            int[] p = prompt(4);
            assertArrayEquals(referenceGreedy(p, 6, Set.of()),
                    scheduler.submit(p, GenerationConfig.greedy(6), null).join().tokens());
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void theContextEndsASequence() {
        int[] p = prompt(CAPACITY - 3);
        try (BatchScheduler scheduler = scheduler(1)) {
            GenerationResult r = scheduler.submit(p, GenerationConfig.greedy(100), null).join();
            assertArrayEquals(referenceGreedy(p, 100, Set.of()), r.tokens());
            assertEquals(3, r.tokens().length);
            assertEquals(FinishReason.LENGTH, r.finishReason());
            assertThrows(IllegalArgumentException.class,
                    () -> scheduler.submit(prompt(CAPACITY), GenerationConfig.greedy(1), null));
            assertThrows(IllegalArgumentException.class,
                    () -> scheduler.submit(new int[] {300}, GenerationConfig.greedy(1), null));
        }
    }

    @Test
    void anErrorInTheListenerFailsOnlyItsRequest() {
        try (BatchScheduler scheduler = scheduler(2)) {
            Generation bad = scheduler.submit(prompt(3), GenerationConfig.greedy(8), piece -> {
                throw new IllegalStateException("listener failed");
            });
            Generation good = scheduler.submit(prompt(3), GenerationConfig.greedy(8), null);
            CompletionException e = assertThrows(CompletionException.class, bad::join);
            assertEquals("listener failed", e.getCause().getMessage());
            assertEquals(8, good.join().tokens().length);
        }
    }
}

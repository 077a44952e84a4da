package org.jtune.generate;

import org.jtune.model.DecodeEngine;
import org.jtune.tokenizer.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * Continuous batching over a {@link DecodeEngine}: requests wait in a queue; whenever a slot is free the next one is
 * prefilled into it, and every step decodes one token for each running sequence together. A sequence that ends
 * frees its slot at once for the next request, so short and long requests share the engine without waiting for
 * each other. One thread of its own drives the engine; {@link #submit} may be called from any thread.
 *
 * <p>A long prompt is prefilled whole before the next step, pausing the other sequences meanwhile.
 */
public final class BatchScheduler implements AutoCloseable {
    private final DecodeEngine engine;
    private final Tokenizer tokenizer;
    private final BlockingQueue<Sequence> incoming = new LinkedBlockingQueue<>();
    private final Deque<Integer> freeSlots = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final float[] logits;
    private final Thread thread;
    private volatile boolean closed;

    /** @param tokenizer turns tokens into text and finds stop strings; null to generate ids only */
    public BatchScheduler(DecodeEngine engine, Tokenizer tokenizer) {
        this.engine = engine;
        this.tokenizer = tokenizer;
        for (int slot = 0; slot < engine.maxSequences(); slot++) {
            freeSlots.add(slot);
        }
        this.logits = new float[engine.maxSequences() * engine.vocabSize()];
        this.thread = Thread.ofPlatform().name("jtune-decode").daemon().start(this::loop);
    }

    public DecodeEngine engine() {
        return engine;
    }

    /**
     * Queues a prompt.
     *
     * @param onText receives the text as it is generated, piece by piece, on the scheduler's thread (keep it
     *               short: a slow consumer stalls every sequence); null for none
     * @throws IllegalArgumentException if the prompt is empty, has an id outside the vocabulary or does not leave
     *                                  room in the context for one new token
     */
    public Generation submit(int[] promptIds, GenerationConfig config, Consumer<String> onText) {
        if (closed) {
            throw new IllegalStateException("the scheduler is closed");
        }
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (promptIds.length >= engine.capacity()) {
            throw new IllegalArgumentException("the prompt has " + promptIds.length + " tokens; the context holds "
                    + engine.capacity() + " tokens, so a prompt may have at most " + (engine.capacity() - 1));
        }
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] < 0 || promptIds[i] >= engine.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + i + " is " + promptIds[i]
                        + ", outside the vocabulary [0, " + engine.vocabSize() + ")");
            }
        }
        if (tokenizer == null && !config.stopStrings().isEmpty()) {
            throw new IllegalArgumentException("stop strings need a tokenizer to read the generated text");
        }
        Sequence s = new Sequence(promptIds, config, onText);
        incoming.add(s);
        return s.handle;
    }

    private void loop() {
        while (!closed) {
            try {
                if (running.isEmpty()) {
                    Sequence next = incoming.take();
                    start(next);
                }
                while (!freeSlots.isEmpty() && !incoming.isEmpty()) {
                    start(incoming.poll());
                }
                dropCancelled();
                step();
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                failRunning(e); // a bug: the sequences in flight fail, the scheduler goes on with the next ones
            }
        }
        CancellationException stop = new CancellationException("the scheduler was closed");
        for (Sequence s : running) {
            s.handle.future().completeExceptionally(stop);
        }
        for (Sequence s : incoming) {
            s.handle.future().completeExceptionally(stop);
        }
    }

    private void start(Sequence s) {
        if (s.handle.cancelled()) {
            return;
        }
        int slot = freeSlots.poll();
        try {
            engine.reset(slot);
            engine.prefill(slot, s.prompt, logits);
            s.slot = slot;
            s.take(Arrays.copyOf(logits, engine.vocabSize()));
        } catch (RuntimeException e) {
            s.handle.future().completeExceptionally(e);
            freeSlots.add(slot);
            return;
        }
        if (s.done) {
            freeSlots.add(slot);
        } else {
            running.add(s);
        }
    }

    private void dropCancelled() {
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.handle.cancelled()) {
                it.remove();
                freeSlots.add(s.slot);
            }
        }
    }

    /** One decode step for every running sequence. */
    private void step() {
        int n = running.size();
        if (n == 0) {
            return;
        }
        int[] slots = new int[n], tokens = new int[n];
        for (int i = 0; i < n; i++) {
            slots[i] = running.get(i).slot;
            tokens[i] = running.get(i).pending;
        }
        int vocab = engine.vocabSize();
        try {
            engine.decode(slots, tokens, logits);
        } catch (RuntimeException e) {
            failRunning(e);
            return;
        }
        List<Sequence> still = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Sequence s = running.get(i);
            try {
                s.take(Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab));
            } catch (RuntimeException e) {
                s.handle.future().completeExceptionally(e);
                s.done = true;
            }
            if (s.done) {
                freeSlots.add(s.slot);
            } else {
                still.add(s);
            }
        }
        running.clear();
        running.addAll(still);
    }

    private void failRunning(RuntimeException e) {
        for (Sequence s : running) {
            s.handle.future().completeExceptionally(e);
            freeSlots.add(s.slot);
        }
        running.clear();
    }

    /** Stops the loop; what is queued or running completes with a {@link CancellationException}. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One request's state while it runs. */
    private final class Sequence {
        final Generation handle = new Generation();
        final int[] prompt;
        final GenerationConfig config;
        final Consumer<String> onText;
        final TokenSampler sampler;
        final TextStream stream;
        final StopStrings stops;
        final StringBuilder text = new StringBuilder();
        int[] ids;
        int length, generated, slot = -1;
        /** The last token drawn, to be fed to the engine in the next step. */
        int pending;
        boolean done;

        Sequence(int[] prompt, GenerationConfig config, Consumer<String> onText) {
            this.prompt = prompt.clone();
            this.config = config;
            this.onText = onText;
            this.sampler = new TokenSampler(config);
            this.stream = tokenizer == null ? null : new TextStream(tokenizer);
            this.stops = new StopStrings(config.stopStrings());
            this.ids = Arrays.copyOf(this.prompt, Math.min(engine.capacity(), prompt.length + config.maxNewTokens()));
            this.length = prompt.length;
        }

        /** Draws the next token from its logits and decides whether the sequence goes on. */
        void take(float[] scores) {
            int token = sampler.next(ids, length, scores);
            if (config.eosTokenIds().contains(token)) {
                finish(FinishReason.STOP);
                return;
            }
            ids[length++] = token;
            generated++;
            if (stream != null) {
                show(stops.add(stream.add(token)));
                if (stops.stopped()) {
                    finish(FinishReason.STOP);
                    return;
                }
            }
            if (generated == config.maxNewTokens() || length == engine.capacity()) {
                finish(FinishReason.LENGTH);
                return;
            }
            pending = token;
        }

        private void show(String piece) {
            if (!piece.isEmpty()) {
                text.append(piece);
                if (onText != null) {
                    onText.accept(piece);
                }
            }
        }

        private void finish(FinishReason reason) {
            if (stream != null && !stops.stopped()) {
                show(stops.add(stream.flush()));
                show(stops.flush());
            }
            if (stops.stopped()) {
                reason = FinishReason.STOP;
            }
            done = true;
            handle.future().complete(new GenerationResult(Arrays.copyOfRange(ids, prompt.length, length),
                    text.toString(), reason, prompt.length));
        }
    }
}

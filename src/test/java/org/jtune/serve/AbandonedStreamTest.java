package org.jtune.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.generate.FinishReason;
import org.jtune.generate.Generation;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationResult;
import org.jtune.generate.TextGenerator;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A streaming client that reads one chunk and hangs up: the server notices, cancels the sequence and serves the next
 * request. The generator here never ends a stream by itself (one piece every few milliseconds until cancelled), so
 * the server cannot pass by finishing first; a short request then completes as usual.
 */
class AbandonedStreamTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Streams "a" pieces until cancelled, or completes at once when asked for fewer than 10 tokens. */
    static final class EndlessGenerator implements TextGenerator {
        final List<Generation> streams = new CopyOnWriteArrayList<>();

        @Override
        public Generation submit(int[] promptIds, GenerationConfig config, Consumer<String> onText) {
            Generation g = new Generation();
            if (config.maxNewTokens() < 10) {
                g.result().complete(new GenerationResult(new int[] {7, 7}, "aa", FinishReason.LENGTH,
                        promptIds.length));
                return g;
            }
            streams.add(g);
            Thread.ofVirtual().start(() -> {
                while (!g.result().isDone()) {
                    onText.accept("a");
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            return g;
        }

        @Override
        public int contextLength() {
            return 1 << 20;
        }
    }

    @Test
    void theServerCancelsTheSequenceAndServesOn() throws Exception {
        EndlessGenerator generator = new EndlessGenerator();
        ServedModel served = new ServedModel("endless", generator, null, null, GenerationConfig.defaults());
        try (OpenAiServer server = OpenAiServer.start(served, "127.0.0.1", 0, null, null)) {
            String base = "http://127.0.0.1:" + server.address().getPort();
            ObjectNode body = JSON.createObjectNode().put("max_tokens", 100_000).put("stream", true);
            body.putArray("prompt").add(1).add(2).add(3);
            HttpURLConnection c = post(base, body);
            BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("data: "));
            c.disconnect(); // closes the socket

            long deadline = System.nanoTime() + 30_000_000_000L;
            while (server.abandonedStreams() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, server.abandonedStreams(), "the server noticed the client left");
            assertEquals(1, generator.streams.size());
            assertTrue(generator.streams.getFirst().result().isCancelled(), "the sequence was cancelled");

            ObjectNode shortOne = JSON.createObjectNode().put("max_tokens", 2);
            shortOne.putArray("prompt").add(1);
            HttpURLConnection next = post(base, shortOne);
            assertEquals(200, next.getResponseCode());
            String answer = new String(next.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("aa", JSON.readTree(answer).get("choices").get(0).get("text").asText());
        }
    }

    private static HttpURLConnection post(String base, ObjectNode body) throws Exception {
        HttpURLConnection c = (HttpURLConnection) URI.create(base + "/v1/completions").toURL().openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        try (OutputStream out = c.getOutputStream()) {
            out.write(body.toString().getBytes(StandardCharsets.UTF_8));
        }
        return c;
    }
}

package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.generate.GenerationResult;
import org.jtune.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code serve} end to end over HTTP on a tiny model: OpenAI's shapes whole and streamed, concurrent clients each
 * answered as the library answers one request alone, refusals as OpenAI's error JSON (malformed JSON, bad fields,
 * wrong or missing API key, unknown paths). A client that goes away mid-stream is {@code AbandonedStreamTest}'s.
 */
class ServeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk-test-123";

    @TempDir
    static Path dir;
    static Path model;
    static ServeCommand.Running running;
    static String base;
    static InferenceReference reference;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();

    @BeforeAll
    static void start() throws IOException {
        model = CliFixture.tinyModel(dir.resolve("model"));
        OptionParser.Parsed p = ServeCommand.PARSER.parse(new String[] {"--model", model.toString(), "--port", "0",
                "--api-key", KEY, "--max-batch-size", "2", "--temperature", "0", "--served-model-name", "tiny"});
        running = ServeCommand.start(p, new PrintStream(LOG, true, StandardCharsets.UTF_8));
        base = "http://127.0.0.1:" + running.server().address().getPort();
        reference = new InferenceReference(model, null);
    }

    @AfterAll
    static void stop() {
        running.close();
        reference.close();
    }

    record Response(int status, String body) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    private static HttpURLConnection open(String method, String path, String key) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(base + path).toURL().openConnection();
        c.setRequestMethod(method);
        if (key != null) {
            c.setRequestProperty("Authorization", "Bearer " + key);
        }
        c.setConnectTimeout(10_000);
        c.setReadTimeout(60_000);
        return c;
    }

    private static Response call(String method, String path, String body, String key) throws IOException {
        HttpURLConnection c = open(method, path, key);
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            try (OutputStream out = c.getOutputStream()) {
                out.write(body.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
            return new Response(status, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static Response post(String path, ObjectNode body) throws IOException {
        return call("POST", path, body.toString(), KEY);
    }

    private static ObjectNode chatRequest(String content, int maxTokens) {
        ObjectNode body = JSON.createObjectNode().put("model", "tiny").put("max_tokens", maxTokens);
        body.putArray("messages").addObject().put("role", "user").put("content", content);
        return body;
    }

    @Test
    void listsTheModel() throws IOException {
        Response r = call("GET", "/v1/models", null, KEY);
        assertEquals(200, r.status(), r.body());
        JsonNode data = r.json().get("data");
        assertEquals("list", r.json().get("object").asText());
        assertEquals("tiny", data.get(0).get("id").asText());
        assertEquals("model", data.get(0).get("object").asText());
    }

    @Test
    void chatCompletion() throws IOException {
        Response r = post("/v1/chat/completions", chatRequest("Define the word \"river\".", 12));
        assertEquals(200, r.status(), r.body());
        JsonNode json = r.json();
        GenerationResult expected = reference.chat(List.of(ChatMessage.user("Define the word \"river\".")), 12);
        assertEquals("chat.completion", json.get("object").asText());
        assertTrue(json.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("tiny", json.get("model").asText());
        JsonNode choice = json.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals(expected.text(), choice.get("message").get("content").asText());
        assertEquals(expected.finishReason().apiName(), choice.get("finish_reason").asText());
        JsonNode usage = json.get("usage");
        assertEquals(expected.promptTokens(), usage.get("prompt_tokens").asInt());
        assertEquals(expected.tokens().length, usage.get("completion_tokens").asInt());
        assertEquals(expected.promptTokens() + expected.tokens().length, usage.get("total_tokens").asInt());
    }

    @Test
    void chatCompletionStreamed() throws IOException {
        ObjectNode body = chatRequest("Define the word \"stone\".", 15).put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        List<JsonNode> events = new ArrayList<>();
        HttpURLConnection c = open("POST", "/v1/chat/completions", KEY);
        c.setDoOutput(true);
        try (OutputStream out = c.getOutputStream()) {
            out.write(body.toString().getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(200, c.getResponseCode());
        assertTrue(c.getContentType().startsWith("text/event-stream"), c.getContentType());
        boolean done = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isEmpty()) {
                    continue;
                }
                assertTrue(line.startsWith("data: "), line);
                String data = line.substring(6);
                if (data.equals("[DONE]")) {
                    done = true;
                    for (String rest = in.readLine(); rest != null; rest = in.readLine()) {
                        assertTrue(rest.isEmpty(), "nothing follows [DONE], got " + rest);
                    }
                    break;
                }
                events.add(JSON.readTree(data));
            }
        }
        assertTrue(done, "the stream ends with [DONE]");
        GenerationResult expected = reference.chat(List.of(ChatMessage.user("Define the word \"stone\".")), 15);
        assertEquals("assistant", events.getFirst().get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : events.subList(0, events.size() - 1)) {
            assertEquals("chat.completion.chunk", e.get("object").asText());
            JsonNode choice = e.get("choices").get(0);
            text.append(choice.get("delta").path("content").asText(""));
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertEquals(expected.text(), text.toString());
        assertEquals(expected.finishReason().apiName(), finish);
        JsonNode usage = events.getLast().get("usage");
        assertEquals(0, events.getLast().get("choices").size());
        assertEquals(expected.tokens().length, usage.get("completion_tokens").asInt());
    }

    @Test
    void completionsOfSeveralPromptsAndChoices() throws IOException {
        ObjectNode body = JSON.createObjectNode().put("model", "tiny").put("max_tokens", 7).put("n", 2);
        body.putArray("prompt").add("The river").add("A small bird");
        Response r = post("/v1/completions", body);
        assertEquals(200, r.status(), r.body());
        JsonNode choices = r.json().get("choices");
        assertEquals("text_completion", r.json().get("object").asText());
        assertEquals(4, choices.size());
        String[] prompts = {"The river", "A small bird"};
        int promptTokens = 0;
        for (int i = 0; i < 4; i++) {
            GenerationResult expected = reference.complete(prompts[i / 2], 7);
            assertEquals(i, choices.get(i).get("index").asInt());
            assertEquals(expected.text(), choices.get(i).get("text").asText()); // greedy: both choices the same
            promptTokens += i % 2 == 0 ? expected.promptTokens() : 0;
        }
        assertEquals(promptTokens, r.json().get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void concurrentClientsAreEachAnsweredAsAlone() throws Exception {
        String[] words = {"river", "stone", "light", "green", "quick", "small", "house"};
        try (ExecutorService pool = Executors.newFixedThreadPool(words.length)) {
            List<Future<Response>> answers = new ArrayList<>();
            for (String w : words) {
                answers.add(pool.submit(() -> post("/v1/chat/completions", chatRequest("Define " + w + ".", 10))));
            }
            for (int i = 0; i < words.length; i++) {
                Response r = answers.get(i).get();
                assertEquals(200, r.status(), r.body());
                assertEquals(reference.chat(List.of(ChatMessage.user("Define " + words[i] + ".")), 10).text(),
                        r.json().get("choices").get(0).get("message").get("content").asText(), words[i]);
            }
        }
    }

    @Test
    void refusalsCarryOpenAisErrorJson() throws IOException {
        Response malformed = call("POST", "/v1/chat/completions", "{\"messages\": [", KEY);
        assertError(malformed, 400, "invalid_request_error");
        assertTrue(malformed.json().get("error").get("message").asText().contains("parse the JSON"));

        Response badField = post("/v1/chat/completions", chatRequest("hi", 5).put("temperature", 7));
        assertError(badField, 400, "invalid_request_error");
        assertEquals("temperature", badField.json().get("error").get("param").asText());

        Response noMessages = post("/v1/chat/completions", JSON.createObjectNode().put("model", "tiny"));
        assertError(noMessages, 400, "invalid_request_error");
        assertEquals("messages", noMessages.json().get("error").get("param").asText());

        Response tooLong = post("/v1/completions", JSON.createObjectNode().put("prompt", "river ".repeat(200)));
        assertError(tooLong, 400, "invalid_request_error");
        assertEquals("context_length_exceeded", tooLong.json().get("error").get("code").asText());

        Response wrongKey = call("GET", "/v1/models", null, "sk-wrong");
        assertError(wrongKey, 401, "invalid_request_error");
        assertEquals("invalid_api_key", wrongKey.json().get("error").get("code").asText());
        assertError(call("POST", "/v1/chat/completions", chatRequest("hi", 3).toString(), null), 401,
                "invalid_request_error");

        assertError(call("GET", "/v1/embeddings", null, KEY), 404, "invalid_request_error");
        assertError(call("GET", "/v1/chat/completions", null, KEY), 405, "invalid_request_error");
    }

    private static void assertError(Response r, int status, String type) throws IOException {
        assertEquals(status, r.status(), r.body());
        JsonNode error = r.json().get("error");
        assertEquals(type, error.get("type").asText(), r.body());
        assertTrue(error.get("message").asText().length() > 5, r.body());
    }
}

package org.jtune.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.jtune.generate.GenerationResult;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP server on the JDK's built-in server that speaks OpenAI's API for one model: {@code GET /v1/models},
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}, answered whole or streamed as server-sent
 * events ({@code "stream": true}). Every request runs on a virtual thread and queues its sequences with the
 * model's scheduler, so concurrent requests are decoded together. Refusals carry OpenAI's error JSON. With an API
 * key, every request must carry {@code Authorization: Bearer KEY}. A client that goes away mid-stream has its
 * sequences cancelled, which frees their place for the next request.
 */
public final class OpenAiServer implements AutoCloseable {
    /** Largest request body read. */
    private static final int MAX_BODY_BYTES = 16 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServedModel served;
    private final byte[] apiKeyHash;
    private final PrintStream log;
    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger abandonedStreams = new AtomicInteger();

    private OpenAiServer(ServedModel served, String apiKey, PrintStream log, HttpServer http) {
        this.served = served;
        this.apiKeyHash = apiKey == null ? null : sha256(apiKey);
        this.log = log;
        this.http = http;
    }

    /**
     * Binds {@code host:port} (port 0: any free port) and starts serving.
     *
     * @param apiKey the key clients must send, or null for none
     * @param log    one line per request, or null
     */
    public static OpenAiServer start(ServedModel served, String host, int port, String apiKey, PrintStream log)
            throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 0);
        OpenAiServer server = new OpenAiServer(served, apiKey, log, http);
        http.createContext("/", server::handle);
        http.setExecutor(server.executor);
        http.start();
        return server;
    }

    /** The address it listens on. */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** Streams whose client went away before the end (their sequences were cancelled). */
    public int abandonedStreams() {
        return abandonedStreams.get();
    }

    private void handle(HttpExchange exchange) {
        long start = System.nanoTime();
        int status = 200;
        try {
            status = route(exchange);
        } catch (ApiError e) {
            status = e.status();
            sendQuietly(exchange, e.status(), e.toJson(JSON));
        } catch (RuntimeException e) {
            status = 500;
            sendQuietly(exchange, 500, new ApiError(500, "server_error", "the server failed: " + message(e), null,
                    null).toJson(JSON));
        } catch (IOException e) {
            status = 499; // the client went away while the answer was being sent
        } finally {
            exchange.close();
            if (log != null) {
                log.printf(Locale.ROOT, "%s %s %d (%.2f s)%n", exchange.getRequestMethod(),
                        exchange.getRequestURI().getPath(), status, (System.nanoTime() - start) / 1e9);
            }
        }
    }

    private static String message(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
    }

    /** Dispatches by path and method; returns the status sent. */
    private int route(HttpExchange exchange) throws IOException {
        checkKey(exchange);
        String path = exchange.getRequestURI().getPath().replaceAll("/+$", "");
        String method = exchange.getRequestMethod();
        switch (path) {
            case "/v1/models" -> {
                requireMethod(method, "GET");
                send(exchange, 200, models());
                return 200;
            }
            case "/v1/chat/completions" -> {
                requireMethod(method, "POST");
                return chat(exchange, body(exchange));
            }
            case "/v1/completions" -> {
                requireMethod(method, "POST");
                return completions(exchange, body(exchange));
            }
            default -> throw new ApiError(404, "invalid_request_error", "Unknown request URL: " + method + " "
                    + exchange.getRequestURI().getPath() + " (this server has /v1/models, /v1/chat/completions and"
                    + " /v1/completions)", null, "unknown_url");
        }
    }

    /** The key is compared through its hash, in constant time. */
    private void checkKey(HttpExchange exchange) {
        if (apiKeyHash == null) {
            return;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip()
                : null;
        if (given == null || !MessageDigest.isEqual(apiKeyHash, sha256(given))) {
            throw new ApiError(401, "invalid_request_error", given == null
                    ? "You didn't provide an API key. Send it as the header 'Authorization: Bearer KEY'."
                    : "Incorrect API key provided.", null, "invalid_api_key");
        }
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiError(405, "invalid_request_error", "method " + method + " is not allowed here (use "
                    + allowed + ")", null, "method_not_allowed");
        }
    }

    private static JsonNode body(HttpExchange exchange) throws IOException {
        byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiError(413, "invalid_request_error", "the request body exceeds " + (MAX_BODY_BYTES >> 20)
                    + " MiB", null, null);
        }
        JsonNode body;
        try {
            body = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiError.invalid("We could not parse the JSON body of your request: "
                    + e.getOriginalMessage(), null);
        }
        if (body == null || !body.isObject()) {
            throw ApiError.invalid("the request body must be a JSON object", null);
        }
        return body;
    }

    private ObjectNode models() {
        ObjectNode root = JSON.createObjectNode().put("object", "list");
        root.putArray("data").addObject().put("id", served.name()).put("object", "model").put("created", created)
                .put("owned_by", "jtune");
        return root;
    }

    private int chat(HttpExchange exchange, JsonNode body) throws IOException {
        if (served.chat() == null) {
            throw ApiError.invalid("this model's tokenizer ships no chat template: use /v1/completions, or restart "
                    + "serve with --chat-template", "messages");
        }
        SamplingRequest sampling = SamplingRequest.parse(body, served.defaults(), null);
        int[] prompt = served.chat().encode(PromptReader.messages(body));
        checkLength(prompt, "messages");
        List<Choice> choices = new ArrayList<>();
        for (int i = 0; i < sampling.n(); i++) {
            choices.add(new Choice(i, prompt));
        }
        return run(exchange, new ResponseShape(true, "chatcmpl-" + id()), sampling, choices, prompt.length);
    }

    private int completions(HttpExchange exchange, JsonNode body) throws IOException {
        SamplingRequest.require(!body.path("echo").asBoolean(false), "echo is not supported", "echo");
        SamplingRequest.require(body.path("suffix").isNull() || body.path("suffix").isMissingNode(),
                "suffix is not supported", "suffix");
        SamplingRequest sampling = SamplingRequest.parse(body, served.defaults(), 16); // OpenAI's default length
        List<int[]> prompts = PromptReader.completionPrompts(body, served.tokenizer());
        List<Choice> choices = new ArrayList<>();
        int promptTokens = 0;
        for (int[] p : prompts) {
            checkLength(p, "prompt");
            promptTokens += p.length;
            for (int j = 0; j < sampling.n(); j++) {
                choices.add(new Choice(choices.size(), p));
            }
        }
        return run(exchange, new ResponseShape(false, "cmpl-" + id()), sampling, choices, promptTokens);
    }

    private void checkLength(int[] prompt, String param) {
        int context = served.model().contextLength();
        if (prompt.length >= context) {
            throw new ApiError(400, "invalid_request_error", "This model's maximum context length is " + context
                    + " tokens. However, your " + param + " resulted in " + prompt.length + " tokens.", param,
                    "context_length_exceeded");
        }
    }

    private static String id() {
        return HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(12).putLong(ThreadLocalRandom.current()
                .nextLong()).putInt(ThreadLocalRandom.current().nextInt()).array());
    }

    /** Queues every choice, then answers whole or as a stream. */
    private int run(HttpExchange exchange, ResponseShape shape, SamplingRequest sampling, List<Choice> choices,
                    int promptTokens) throws IOException {
        BlockingQueue<StreamEvent> events = sampling.stream() ? new LinkedBlockingQueue<>() : null;
        try {
            for (Choice c : choices) {
                c.generation = served.model().submit(c.prompt, sampling.forChoice(c.index),
                        events == null ? null : piece -> events.add(StreamEvent.text(c.index, piece)));
                if (events != null) {
                    c.generation.result().whenComplete((r, e) -> events.add(e == null ? StreamEvent.done(c.index, r)
                            : StreamEvent.failed(c.index, e)));
                }
            }
        } catch (IllegalArgumentException e) {
            cancel(choices);
            throw ApiError.invalid(e.getMessage(), "prompt");
        }
        if (events == null) {
            return whole(exchange, shape, choices, promptTokens);
        }
        try {
            stream(exchange, shape, choices, events, promptTokens, sampling.includeUsage());
        } catch (IOException e) {
            cancel(choices);
            abandonedStreams.incrementAndGet();
            throw e;
        } catch (InterruptedException e) {
            cancel(choices);
            Thread.currentThread().interrupt();
            throw new IOException("the server is stopping", e);
        }
        return 200;
    }

    private static void cancel(List<Choice> choices) {
        for (Choice c : choices) {
            if (c.generation != null) {
                c.generation.cancel();
            }
        }
    }

    private int whole(HttpExchange exchange, ResponseShape shape, List<Choice> choices, int promptTokens)
            throws IOException {
        ObjectNode root = shape.header(JSON, shape.chat() ? "chat.completion" : "text_completion", created(),
                served.name());
        ArrayNode list = root.putArray("choices");
        int completionTokens = 0;
        for (Choice c : choices) {
            GenerationResult r = c.generation.join();
            completionTokens += r.tokens().length;
            ObjectNode choice = list.addObject().put("index", c.index);
            if (shape.chat()) {
                choice.putObject("message").put("role", "assistant").put("content", r.text());
            } else {
                choice.put("text", r.text());
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", r.finishReason().apiName());
        }
        root.set("usage", usage(promptTokens, completionTokens));
        send(exchange, 200, root);
        return 200;
    }

    private void stream(HttpExchange exchange, ResponseShape shape, List<Choice> choices,
                        BlockingQueue<StreamEvent> events, int promptTokens, boolean includeUsage)
            throws IOException, InterruptedException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        long createdAt = created();
        if (shape.chat()) {
            for (Choice c : choices) {
                event(out, shape.chunk(JSON, createdAt, served.name(), c.index, "", true, null));
            }
        }
        int open = choices.size(), completionTokens = 0;
        while (open > 0) {
            StreamEvent e = events.take();
            if (e.text() != null) {
                event(out, shape.chunk(JSON, createdAt, served.name(), e.choice(), e.text(), false, null));
            } else if (e.result() != null) {
                completionTokens += e.result().tokens().length;
                event(out, shape.chunk(JSON, createdAt, served.name(), e.choice(), "", false,
                        e.result().finishReason().apiName()));
                open--;
            } else {
                cancel(choices); // the stream cannot go on: say why, as OpenAI's streams do
                event(out, new ApiError(500, "server_error", "generation failed: " + message(e.error()), null,
                        null).toJson(JSON));
                open = 0;
            }
        }
        if (includeUsage) {
            ObjectNode last = shape.header(JSON, shape.chat() ? "chat.completion.chunk" : "text_completion",
                    createdAt, served.name());
            last.putArray("choices");
            last.set("usage", usage(promptTokens, completionTokens));
            event(out, last);
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void event(OutputStream out, ObjectNode json) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(json) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static ObjectNode usage(int promptTokens, int completionTokens) {
        return JSON.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }

    private static long created() {
        return System.currentTimeMillis() / 1000;
    }

    private static void send(HttpExchange exchange, int status, ObjectNode json) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(json);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** An error answer; if the headers are already out (a stream), there is nothing more to say. */
    private static void sendQuietly(HttpExchange exchange, int status, ObjectNode json) {
        try {
            if (exchange.getResponseCode() == -1) {
                send(exchange, status, json);
            }
        } catch (IOException ignored) {
            // the client is gone
        }
    }

    /** Stops accepting requests and ends those in flight; the model is the caller's to close. */
    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}

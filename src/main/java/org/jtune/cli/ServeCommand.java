package org.jtune.cli;

import org.jtune.generate.ChatPrompt;
import org.jtune.serve.OpenAiServer;
import org.jtune.serve.ServedModel;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * {@code serve}: the model behind OpenAI's API on the JDK's HTTP server, for the clients and tools that speak it.
 * Binds to localhost unless {@code --host} says otherwise; {@code --api-key} (or the environment variable
 * {@value #KEY_VARIABLE}) makes every request carry the key. Runs until interrupted.
 */
final class ServeCommand implements Main.Command {
    static final String KEY_VARIABLE = "JTUNE_API_KEY";
    static final OptionParser PARSER = new OptionParser("serve", "--model DIR [--adapter DIR] [OPTIONS]", """
            Serves the model over HTTP with OpenAI's API: GET /v1/models, POST /v1/chat/completions and
            POST /v1/completions, streamed with "stream": true. Concurrent requests are queued and decoded
            together. Requests may set max_tokens, temperature, top_p, top_k, min_p, repetition_penalty, seed, stop
            and n; what they leave out comes from the options below, then from the model's
            generation_config.json.""",
            InferenceOptions.concat(InferenceOptions.modelOptions(
                            "sequences decoded together (each takes a key/value cache of --max-seq-length tokens); "
                                    + "default 4"),
                    InferenceOptions.samplingOptions(),
                    List.of(new OptionParser.Option("host", VALUE, "ADDRESS", false,
                                    "the address to listen on; default 127.0.0.1 (this machine only; 0.0.0.0 for "
                                            + "every network)"),
                            new OptionParser.Option("port", VALUE, "N", false, "the port; default 8000"),
                            new OptionParser.Option("api-key", VALUE, "KEY", false,
                                    "require 'Authorization: Bearer KEY' on every request; default: the "
                                            + KEY_VARIABLE + " environment variable, else no key"),
                            new OptionParser.Option("served-model-name", VALUE, "NAME", false,
                                    "the model's name in the API; default the model folder's name (+ the "
                                            + "adapter's)"))),
            true);
    static final int DEFAULT_BATCH = 4;

    @Override
    public String summary() {
        return "serve a model (and adapter) with OpenAI's HTTP API";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        OptionParser.Parsed p = PARSER.parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        try (Running running = start(p, out)) {
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                running.close();
                stopped.countDown();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            out.println("press Ctrl-C to stop");
            stopped.await();
        }
        return 0;
    }

    /** A server and the model it serves, closed together, once (by Ctrl-C's shutdown hook or the caller). */
    static final class Running implements AutoCloseable {
        private final OpenAiServer server;
        private final InferenceSession session;
        private final AtomicBoolean closed = new AtomicBoolean();

        Running(OpenAiServer server, InferenceSession session) {
            this.server = server;
            this.session = session;
        }

        OpenAiServer server() {
            return server;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                server.close();
                session.close();
            }
        }
    }

    /** Loads the model and starts the server; the caller closes it. */
    static Running start(OptionParser.Parsed p, PrintStream out) throws IOException {
        String host = p.string("host", "127.0.0.1");
        int port = p.integer("port", 8000);
        if (port < 0 || port > 65535) {
            throw new UsageException(p.origin("port") + ": not a port number: " + port);
        }
        String key = p.string("api-key", System.getenv(KEY_VARIABLE));
        if (key != null && key.isBlank()) {
            throw new UsageException("the API key is empty");
        }
        InferenceSession session = InferenceSession.open(InferenceOptions.modelChoice(p),
                RunOptions.positive(p, "max-batch-size", DEFAULT_BATCH), out);
        try {
            ChatPrompt chat = null;
            try {
                chat = session.chatPrompt();
            } catch (UsageException e) {
                out.println("note: " + e.getMessage() + "; until then /v1/chat/completions answers with an error");
            }
            ServedModel served = new ServedModel(p.string("served-model-name", session.name()), session.model(),
                    session.tokenizer(), chat, InferenceOptions.generation(p, session.defaults()));
            OpenAiServer server = OpenAiServer.start(served, host, port, key, out);
            out.printf("serving %s at http://%s:%d/v1 (%s)%n", served.name(), server.address().getHostString(),
                    server.address().getPort(), key == null ? "no API key" : "API key required");
            out.println("defaults: " + served.defaults().describe());
            return new Running(server, session);
        } catch (IOException | RuntimeException e) {
            session.close();
            throw e;
        }
    }
}

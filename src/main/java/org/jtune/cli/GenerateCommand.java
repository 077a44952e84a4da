package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.data.JsonRecord;
import org.jtune.data.JsonRecordReader;
import org.jtune.generate.ChatPrompt;
import org.jtune.generate.Generation;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationResult;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.Tokenizer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.jtune.cli.OptionParser.Kind.FLAG;
import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * {@code generate}: prompts or conversations from a JSON Lines (or JSON) file, answers to a JSON Lines file, in the
 * input's order, each output line the input record with {@code completion}, {@code finish_reason},
 * {@code prompt_tokens} and {@code completion_tokens} added. All prompts are queued at once and decoded in batches
 * (a finished sequence's place goes to the next prompt); each finished line is written and flushed, so an
 * interrupted run keeps what it finished.
 */
final class GenerateCommand implements Main.Command {
    static final OptionParser PARSER = new OptionParser("generate", "--model DIR --input FILE --output FILE [OPTIONS]",
            """
            Generates an answer for each record of a JSON Lines file: {"prompt": "text"} is continued as it is
            (the tokenizer adds BOS where it does), {"messages": [{"role": ..., "content": ...}, ...]} (or a
            "prompt" that is such a list) gets the assistant's reply through the chat template. Other keys are
            copied to the output line, which adds "completion", "finish_reason", "prompt_tokens" and
            "completion_tokens". With --seed, record i samples from seed + i.""",
            InferenceOptions.concat(InferenceOptions.modelOptions(
                            "prompts decoded together (each takes a key/value cache of --max-seq-length tokens); "
                                    + "default 8"),
                    InferenceOptions.samplingOptions(),
                    List.of(new OptionParser.Option("input", VALUE, "FILE", false,
                                    "the prompts: .jsonl or .json, optionally compressed (.gz, .bz2, .xz, .zst)"),
                            new OptionParser.Option("output", VALUE, "FILE", false, "where the answers go (.jsonl)"),
                            new OptionParser.Option("overwrite", FLAG, null, false,
                                    "replace the output file if it exists"))),
            true);
    static final int DEFAULT_BATCH = 8;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String summary() {
        return "generate answers for the prompts of a JSON Lines file, batched";
    }

    /** One input record: its JSON, and either its text prompt or its conversation. */
    private record Prompt(ObjectNode record, String text, List<ChatMessage> messages) {}

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed p = PARSER.parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        if (!p.has("input") || !p.has("output")) {
            throw new UsageException("--input FILE and --output FILE are required");
        }
        Path input = Path.of(p.string("input", null)), output = Path.of(p.string("output", null));
        if (Files.exists(output) && !p.flag("overwrite", false)) {
            throw new UsageException(output + " exists: give --overwrite to replace it, or another --output");
        }
        List<Prompt> prompts = read(input);
        out.printf(Locale.ROOT, "%d prompts from %s%n", prompts.size(), input);
        InferenceOptions.ModelChoice choice = InferenceOptions.modelChoice(p);
        int batch = RunOptions.positive(p, "max-batch-size", DEFAULT_BATCH);
        try (InferenceSession session = InferenceSession.open(choice, batch, out)) {
            GenerationConfig config = InferenceOptions.generation(p, session.defaults());
            out.println("generation: " + config.describe());
            List<int[]> ids = encode(prompts, session, input);
            GenerationProgress progress = new GenerationProgress(out, out == System.out && RunReport.isTerminal(),
                    prompts.size());
            List<Generation> running = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                GenerationConfig c = config.seed() == null ? config : config.withSeed(config.seed() + i);
                Generation g = session.model().submit(ids.get(i), c, null);
                g.result().thenAccept(r -> progress.finished(r.tokens().length));
                running.add(g);
            }
            write(output, prompts, running);
            out.printf(Locale.ROOT, "wrote %d answers to %s (%d new tokens in %.0f s, %.1f tokens/s)%n",
                    prompts.size(), output, progress.tokens(), progress.seconds(),
                    progress.tokens() / Math.max(progress.seconds(), 1e-9));
        }
        return 0;
    }

    /** Every record, checked before any work starts: a bad one stops the run with its file and line. */
    private static List<Prompt> read(Path input) {
        if (!Files.isRegularFile(input)) {
            throw new UsageException("--input " + input + ": no such file");
        }
        List<Prompt> prompts = new ArrayList<>();
        try (JsonRecordReader reader = new JsonRecordReader(input)) {
            for (JsonRecord r = reader.next(); r != null; r = reader.next()) {
                prompts.add(prompt(r));
            }
        }
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException(input + " holds no records");
        }
        return prompts;
    }

    private static Prompt prompt(JsonRecord r) {
        if (!(r.value() instanceof ObjectNode record)) {
            throw new IllegalArgumentException(r.location() + ": expected a JSON object, got " + r.value());
        }
        JsonNode messages = record.has("messages") ? record.get("messages") : record.get("prompt");
        if (messages != null && messages.isArray()) {
            return new Prompt(record, null, messages(messages, r));
        }
        JsonNode text = record.get("prompt");
        if (text == null || !text.isTextual()) {
            throw new IllegalArgumentException(r.location() + ": expected \"prompt\" (a string) or \"messages\" (a"
                    + " list of {\"role\", \"content\"}), got the keys " + fieldNames(record));
        }
        return new Prompt(record, text.asText(), null);
    }

    private static List<ChatMessage> messages(JsonNode list, JsonRecord r) {
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : list) {
            JsonNode role = m.get("role"), content = m.get("content");
            if (role == null || !role.isTextual() || content == null || !content.isTextual()) {
                throw new IllegalArgumentException(r.location() + ": message " + messages.size() + " needs \"role\" "
                        + "and \"content\" strings, got " + m);
            }
            messages.add(new ChatMessage(role.asText(), content.asText()));
        }
        if (messages.isEmpty()) {
            throw new IllegalArgumentException(r.location() + ": the conversation is empty");
        }
        return messages;
    }

    private static List<String> fieldNames(ObjectNode record) {
        List<String> names = new ArrayList<>();
        record.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static List<int[]> encode(List<Prompt> prompts, InferenceSession session, Path input) {
        Tokenizer tokenizer = session.tokenizer();
        ChatPrompt chat = prompts.stream().anyMatch(pr -> pr.messages() != null) ? session.chatPrompt() : null;
        int context = session.model().contextLength();
        List<int[]> ids = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Prompt pr = prompts.get(i);
            int[] tokens = pr.text() != null ? tokenizer.encodeIds(pr.text(), true) : chat.encode(pr.messages());
            if (tokens.length >= context) {
                throw new IllegalArgumentException(input + ", record " + (i + 1) + ": the prompt has " + tokens.length
                        + " tokens; the context holds " + context + " (--max-seq-length)");
            }
            ids.add(tokens);
        }
        return ids;
    }

    /** Writes each answer, in the input's order, as soon as it and those before it are done. */
    private static void write(Path output, List<Prompt> prompts, List<Generation> running) throws IOException {
        if (output.getParent() != null) {
            Files.createDirectories(output.getParent());
        }
        try (BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            for (int i = 0; i < prompts.size(); i++) {
                GenerationResult r = running.get(i).join();
                ObjectNode line = prompts.get(i).record().deepCopy();
                line.put("completion", r.text());
                line.put("finish_reason", r.finishReason().apiName());
                line.put("prompt_tokens", r.promptTokens());
                line.put("completion_tokens", r.tokens().length);
                w.write(JSON.writeValueAsString(line));
                w.newLine();
                w.flush();
            }
        }
    }
}

package org.jtune.cli;

import org.jtune.generate.ChatPrompt;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationResult;
import org.jtune.tokenizer.ChatMessage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * {@code chat}: a conversation with a model in the terminal. Each message goes to the model with the history, in the
 * chat template; the answer streams as it is generated. {@code /system TEXT} sets the system prompt and starts over,
 * {@code /reset} forgets the history, {@code /exit} (or end of input) quits. When the conversation outgrows the
 * context, its oldest turns are left out.
 */
final class ChatCommand implements Main.Command {
    static final OptionParser PARSER = new OptionParser("chat", "--model DIR [--adapter DIR] [OPTIONS]", """
            Chats with a model in the terminal, with its chat template and the conversation so far; answers stream
            as they are generated. In the chat: /system TEXT sets the system prompt (and starts over), /reset
            clears the history, /exit quits.""",
            InferenceOptions.concat(InferenceOptions.modelOptions(null),
                    InferenceOptions.samplingOptions(),
                    List.of(new OptionParser.Option("system", VALUE, "TEXT", false,
                            "the system prompt to start with; default none"))),
            true);

    private final InputStream in;

    ChatCommand() {
        this(System.in);
    }

    /** Reads the user's lines from {@code in} (the terminal, or a test's script). */
    ChatCommand(InputStream in) {
        this.in = in;
    }

    @Override
    public String summary() {
        return "chat with a model (and adapter) in the terminal";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed p = PARSER.parseOrHelp(args, out);
        if (p == null) {
            return 0;
        }
        InferenceOptions.ModelChoice choice = InferenceOptions.modelChoice(p);
        try (InferenceSession session = InferenceSession.open(choice, 1, out)) {
            GenerationConfig config = InferenceOptions.generation(p, session.defaults());
            Conversation conversation = new Conversation(session.chatPrompt(), p.string("system", null),
                    session.model().contextLength(), config.maxNewTokens());
            out.println("generation: " + config.describe());
            out.println("type a message; /system TEXT sets the system prompt, /reset clears the history, /exit quits");
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            while (true) {
                out.print(">>> ");
                out.flush();
                String line = reader.readLine();
                if (line == null) {
                    out.println();
                    break;
                }
                line = line.strip();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("/")) {
                    if (!command(line, conversation, out)) {
                        break;
                    }
                    continue;
                }
                answer(session, conversation, line, config, out);
            }
        }
        return 0;
    }

    /** Runs a /command; false when it is /exit. */
    private static boolean command(String line, Conversation conversation, PrintStream out) {
        int space = line.indexOf(' ');
        String name = space < 0 ? line : line.substring(0, space);
        String rest = space < 0 ? "" : line.substring(space + 1).strip();
        switch (name) {
            case "/exit", "/quit", "/bye" -> {
                return false;
            }
            case "/reset", "/clear" -> {
                conversation.reset();
                out.println("(history cleared)");
            }
            case "/system" -> {
                conversation.setSystem(rest.isEmpty() ? null : rest);
                out.println(rest.isEmpty() ? "(no system prompt; history cleared)"
                        : "(system prompt set; history cleared)");
            }
            case "/help" -> out.println("/system TEXT sets the system prompt, /reset clears the history, /exit quits");
            default -> out.println("(unknown command " + name + "; /help lists them)");
        }
        return true;
    }

    private static void answer(InferenceSession session, Conversation conversation, String message,
                               GenerationConfig config, PrintStream out) {
        Conversation.Prompt prompt = conversation.ask(message);
        if (prompt.dropped() > 0) {
            out.printf(Locale.ROOT, "(left out the %d oldest message(s): the conversation outgrew the context of %d"
                    + " tokens)%n", prompt.dropped(), session.model().contextLength());
        }
        if (prompt.ids() == null) {
            out.printf(Locale.ROOT, "(the message is too long: the context holds %d tokens)%n",
                    session.model().contextLength());
            return;
        }
        long start = System.nanoTime();
        GenerationResult result = session.model().submit(prompt.ids(), config, piece -> {
            out.print(piece);
            out.flush();
        }).join();
        double seconds = (System.nanoTime() - start) / 1e9;
        out.println();
        out.printf(Locale.ROOT, "[%d tokens, %.1f tokens/s%s]%n", result.tokens().length,
                result.tokens().length / Math.max(seconds, 1e-9),
                result.finishReason().apiName().equals("length") ? ", stopped at the length limit" : "");
        conversation.answered(result.text());
    }

    /** The system prompt and the turns so far, rendered to fit the context. */
    static final class Conversation {
        private final ChatPrompt template;
        private final int context, reserve;
        private final List<ChatMessage> turns = new ArrayList<>();
        private String system;

        /**
         * @param reserve tokens kept free for the answer where the history allows (at most half the context)
         */
        Conversation(ChatPrompt template, String system, int context, int reserve) {
            this.template = template;
            this.system = system;
            this.context = context;
            this.reserve = Math.min(reserve, context / 2);
        }

        void reset() {
            turns.clear();
        }

        void setSystem(String text) {
            system = text;
            turns.clear();
        }

        /**
         * @param ids     the prompt, or null if the message alone does not fit (it is then left out of the history)
         * @param dropped how many of the oldest messages were left out of the history to fit
         */
        record Prompt(int[] ids, int dropped) {}

        /** Adds the user's message and renders the conversation, leaving out old turns until it fits. */
        Prompt ask(String message) {
            turns.add(ChatMessage.user(message));
            int dropped = 0;
            while (true) {
                int[] ids = template.encode(messages());
                if (ids.length + reserve <= context || turns.size() == 1) {
                    if (ids.length >= context) {
                        turns.removeLast();
                        return new Prompt(null, dropped);
                    }
                    return new Prompt(ids, dropped);
                }
                turns.removeFirst(); // a user message, and its answer with it so that turns keep alternating
                turns.removeFirst();
                dropped += 2;
            }
        }

        void answered(String text) {
            turns.add(ChatMessage.assistant(text));
        }

        List<ChatMessage> messages() {
            List<ChatMessage> all = new ArrayList<>();
            if (system != null) {
                all.add(ChatMessage.system(system));
            }
            all.addAll(turns);
            return all;
        }
    }
}

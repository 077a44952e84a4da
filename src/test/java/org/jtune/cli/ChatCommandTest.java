package org.jtune.cli;

import org.jtune.tokenizer.ChatMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A scripted chat: each answer is what the model gives, through the library, for the conversation the commands
 * should have built (history kept, /reset forgets it, /system sets a system prompt and starts over).
 */
class ChatCommandTest {
    private static final int MAX_NEW = 10;
    /** What follows a prompt marker: the streamed answer, then its statistics line. */
    private static final Pattern ANSWER = Pattern.compile(">>> ((?:(?!>>> ).)*?)\\n\\[\\d+ tokens, ", Pattern.DOTALL);

    @Test
    void historyResetAndSystemPrompt(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        String script = """
                Define the word "river".
                And "stone"?

                /reset
                Define the word "cold".
                /system You answer in one word.
                Define the word "song".
                /unknown
                /exit
                Never sent.
                """;
        String out = chat(script, "--model", model.toString(), "--temperature", "0", "--max-new-tokens",
                String.valueOf(MAX_NEW));
        assertTrue(out.contains("model:   " + model) && out.contains("engine:  CPU"), out);
        assertTrue(out.contains("(history cleared)") && out.contains("(system prompt set; history cleared)")
                && out.contains("(unknown command /unknown; /help lists them)"), out);
        List<String> answers = new ArrayList<>();
        Matcher m = ANSWER.matcher(out);
        while (m.find()) {
            answers.add(m.group(1));
        }
        assertEquals(4, answers.size(), out);
        try (InferenceReference ref = new InferenceReference(model, null)) {
            ChatMessage q1 = ChatMessage.user("Define the word \"river\".");
            String a1 = ref.chat(List.of(q1), MAX_NEW).text();
            assertEquals(a1, answers.get(0));
            String a2 = ref.chat(List.of(q1, ChatMessage.assistant(a1), ChatMessage.user("And \"stone\"?")), MAX_NEW)
                    .text();
            assertEquals(a2, answers.get(1));
            assertEquals(ref.chat(List.of(ChatMessage.user("Define the word \"cold\".")), MAX_NEW).text(),
                    answers.get(2));
            assertEquals(ref.chat(List.of(ChatMessage.system("You answer in one word."),
                    ChatMessage.user("Define the word \"song\".")), MAX_NEW).text(), answers.get(3));
        }
    }

    /** A conversation longer than the context loses its oldest turns, and says so. */
    @Test
    void oldTurnsMakeRoom(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            script.append("Tell me a long story about the river and the stone, part ").append(i).append(".\n");
        }
        String out = chat(script.toString(), "--model", model.toString(), "--temperature", "0",
                "--max-new-tokens", "8", "--max-seq-length", "96");
        assertTrue(out.contains("oldest message(s): the conversation outgrew the context of 96 tokens"), out);
        Matcher m = ANSWER.matcher(out);
        int answers = 0;
        while (m.find()) {
            answers++;
        }
        assertEquals(12, answers, out);
    }

    @Test
    void refusesAModelWithoutAChatTemplateUnlessOneIsNamed(@TempDir Path dir) throws IOException {
        Path model = CliFixture.tinyModel(dir.resolve("model"));
        java.nio.file.Files.writeString(model.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = Main.run(new String[] {"chat", "--model", model.toString()}, o, o);
        assertEquals(2, code, bytes.toString(StandardCharsets.UTF_8));
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("--chat-template"));
        String out = chat("hello\n", "--model", model.toString(), "--chat-template", "chatml",
                "--max-new-tokens", "3");
        assertTrue(ANSWER.matcher(out).find(), out);
    }

    private static String chat(String script, String... args) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = new ChatCommand(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8))).run(args, out);
        assertEquals(0, code);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}

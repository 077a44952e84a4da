package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.api.FastLanguageModel;
import org.jtune.api.InferenceModel;
import org.jtune.api.PeftModel;
import org.jtune.data.PreferencePair;
import org.jtune.data.SpecialTokens;
import org.jtune.generate.GenerationConfig;
import org.jtune.model.ModelLoader;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/** What the demo adds to {@code sft} and {@code dpo}: its folders, its explanation, and a sample answer before and after. */
final class DemoRun {
    static final String MODEL_FOLDER = "demo-model";
    static final String DATA_FOLDER = "demo-data";
    private static final int SAMPLE_TOKENS = 40;

    private DemoRun() {}

    static void explain(PrintStream out) {
        out.println("""
                demo: no --model given, so jtune fine-tunes LoRA adapters on a tiny Llama-shaped model (2 layers,
                  hidden size 128, 0.5 M parameters) whose weights are RANDOM: it knows nothing. The data is the
                  3000 "define the word" conversations derived from WordNet that ship in the jar, with a small
                  tokenizer built from them. Watch the loss fall as the adapters learn the shape and common words
                  of the answers; do not expect correct definitions. Give --model DIR --data FILE for a real run.""");
    }

    static void explainDpo(PrintStream out) {
        out.println("""
                demo: no --model given, so jtune trains LoRA adapters with DPO on a tiny Llama-shaped model (2
                  layers, hidden size 128, 0.5 M parameters) whose weights are RANDOM: it knows nothing. The data
                  is the 2000 "define the word" preference pairs derived from WordNet that ship in the jar: the
                  chosen answer is the word's definition, the rejected one another word's. Knowing no words, it
                  cannot generalize: it learns, on a few pairs seen several times, which answer is preferred.
                  Watch rewards/accuracies (the share of pairs where the chosen answer gains more over the
                  reference than the rejected one) and rewards/margins rise. Give --model DIR --data FILE for a
                  real run.""");
    }

    /** A new demo run starts over: the previous demo's checkpoints in the output folder would be resumed otherwise. */
    static void clearPreviousRun(Path output, PrintStream out) throws IOException {
        if (!Files.isRegularFile(output.resolve(MODEL_FOLDER).resolve(ModelLoader.CONFIG_FILE))) {
            return;
        }
        List<String> old = ModelFiles.checkpoints(output);
        for (String name : old) {
            ModelFiles.deleteTree(output.resolve(name));
        }
        if (!old.isEmpty()) {
            out.println("  (starting over: removed the checkpoints of the previous demo run in " + output + ")");
        }
    }

    /**
     * The first example of a dataset: its question, the prompt ids the model sees, and the reference answer (for a
     * preference pair the chosen one, and the rejected one; null for a conversation).
     */
    record Sample(String question, String reference, String rejected, int[] promptIds, int stopId,
                  Tokenizer tokenizer) {

        static Sample first(Path dataset, Tokenizer tokenizer) throws IOException {
            JsonNode messages;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(dataset)), StandardCharsets.UTF_8))) {
                messages = new ObjectMapper().readTree(in.readLine()).get("messages");
            }
            String question = messages.get(0).get("content").asText();
            String prompt = ChatTemplate.of(tokenizer, null).render(List.of(ChatMessage.user(question)), true);
            return new Sample(question, messages.get(1).get("content").asText(), null,
                    tokenizer.encodeIds(prompt, false), SpecialTokens.of(tokenizer).eos(), tokenizer);
        }

        /** The first preference pair of a dataset, {@code pair} being its tokenized form. */
        static Sample firstPair(Path dataset, PreferencePair pair, Tokenizer tokenizer) throws IOException {
            JsonNode record;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(dataset)), StandardCharsets.UTF_8))) {
                record = new ObjectMapper().readTree(in.readLine());
            }
            return new Sample(record.get("prompt").asText().strip(), record.get("chosen").asText(),
                    record.get("rejected").asText(), pair.prompt(), SpecialTokens.of(tokenizer).eos(), tokenizer);
        }

        /** Greedy answer of the model as it is now. */
        void show(String when, PeftModel model, PrintStream out) {
            String answer;
            try (InferenceModel inference = FastLanguageModel.forInference(model, tokenizer, 1)) {
                answer = printable(inference.generate(promptIds, GenerationConfig.greedy(SAMPLE_TOKENS)
                        .withEosTokenIds(Set.of(stopId))).text());
            }
            out.println("sample " + when + ":");
            out.println("  question:  " + question);
            if (rejected == null) {
                out.println("  reference: " + reference);
            } else {
                out.println("  chosen:    " + reference);
                out.println("  rejected:  " + rejected);
            }
            out.println("  model:     " + answer.strip());
        }

        /** A random model emits any bytes: control characters (terminal escapes, line breaks) are shown as U+FFFD. */
        private static String printable(String text) {
            StringBuilder s = new StringBuilder();
            text.codePoints().forEach(c -> s.appendCodePoint(Character.isISOControl(c) || Character.getType(c)
                    == Character.LINE_SEPARATOR || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? 0xFFFD : c));
            return s.toString();
        }
    }
}

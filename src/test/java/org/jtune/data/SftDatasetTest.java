package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each SFT record format on the real Mistral tokenizer: ids, BOS/EOS, loss targets; errors and skipping. */
class SftDatasetTest {
    @TempDir
    Path dir;

    private static Tokenizer tok() {
        return TestTokenizers.mistral();
    }

    private static int eos() {
        return tok().requireId("</s>", "eos");
    }

    private static SftOptions options() {
        return SftOptions.defaults().withMaxLength(0)
                .withChatTemplate(ChatTemplate.of(BuiltinChatTemplate.MISTRAL, tok().config()));
    }

    private SftDataset load(String jsonl, SftOptions options) throws IOException {
        return SftDataset.load(DataFiles.write(dir.resolve("d.jsonl"), jsonl), tok(), options);
    }

    /** TRL's rule, computed from the tokenizer directly: BOS + prompt + completion + EOS, targets after the prompt's tokens. */
    private static void assertPromptCompletion(String prompt, String completion, TokenizedExample e) {
        int[] promptIds = tok().encodeIds(prompt, true);
        int[] full = tok().encodeIds(prompt + completion, true);
        assertArrayEquals(promptIds, Arrays.copyOf(full, promptIds.length), "prompt tokens must be a prefix here");
        int[] expected = Arrays.copyOf(full, full.length + 1);
        expected[full.length] = eos();
        assertArrayEquals(expected, e.ids());
        assertEquals(1, e.ids()[0], "BOS first");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(i >= promptIds.length, e.trainable()[i], "token " + i);
        }
    }

    /** The token strings of each run of consecutive target tokens, joined (SentencePiece writes a space as ▁). */
    private static List<String> targetRuns(TokenizedExample e) {
        List<String> runs = new ArrayList<>();
        int i = 0;
        while (i < e.length()) {
            if (!e.trainable()[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < e.length() && e.trainable()[j]) {
                j++;
            }
            StringBuilder run = new StringBuilder();
            for (int k = i; k < j; k++) {
                run.append(tok().idToToken(e.ids()[k]));
            }
            runs.add(run.toString());
            i = j;
        }
        return runs;
    }

    @Test
    void textRecordsTrainOnEveryTokenWithBosAndEos() throws IOException {
        SftDataset d = load("{\"text\": \"The whale is large.\"}\n{\"text\": \"Call me Ishmael.</s>\", \"id\": 7}\n", options());
        assertEquals(RecordFormat.TEXT, d.report().format());
        int[] body = tok().encodeIds("The whale is large.", true);
        int[] expected = Arrays.copyOf(body, body.length + 1);
        expected[body.length] = eos();
        assertArrayEquals(expected, d.example(0).ids());
        // A text that already ends with EOS gets no second one.
        assertArrayEquals(tok().encodeIds("Call me Ishmael.</s>", true), d.example(1).ids());
        for (int i = 0; i < 2; i++) {
            TokenizedExample e = d.example(i);
            assertEquals(e.length() - 1, e.targetCount());
        }
    }

    @Test
    void promptCompletionTrainsOnCompletionAndEos() throws IOException {
        SftDataset d = load("{\"prompt\": \"Define whale.\", \"completion\": \" A very large sea mammal.\"}\n", options());
        assertEquals(RecordFormat.PROMPT_COMPLETION, d.report().format());
        assertPromptCompletion("Define whale.", " A very large sea mammal.", d.example(0));
    }

    @Test
    void alpacaUsesTheStanfordPromptWordForWord() throws IOException {
        SftDataset d = load("{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Blue.\"}\n"
                + "{\"instruction\": \"Translate.\", \"input\": \"Bonjour\", \"output\": \"Hello\"}\n"
                + "{\"instruction\": \"Say hi.\", \"output\": \"Hi\"}\n", options());
        assertEquals(RecordFormat.ALPACA, d.report().format());
        String noInput = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
                + "\n\n### Instruction:\nName a colour.\n\n### Response:";
        String withInput = "Below is an instruction that describes a task, paired with an input that provides further context. "
                + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate.\n\n"
                + "### Input:\nBonjour\n\n### Response:";
        assertPromptCompletion(noInput, "Blue.", d.example(0));
        assertPromptCompletion(withInput, "Hello", d.example(1));
        assertPromptCompletion(noInput.replace("Name a colour.", "Say hi."), "Hi", d.example(2));
    }

    @Test
    void messagesTrainOnAssistantTurnsThroughTheChatTemplate() throws IOException {
        SftDataset d = load("{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"},"
                + " {\"role\": \"assistant\", \"content\": \"Four.\"}, {\"role\": \"user\", \"content\": \"And 3+3?\"},"
                + " {\"role\": \"assistant\", \"content\": \"Six.\"}]}\n", options());
        assertEquals(RecordFormat.MESSAGES, d.report().format());
        TokenizedExample e = d.example(0);
        assertArrayEquals(tok().encodeIds("<s> [INST] What is 2+2? [/INST] Four.</s> [INST] And 3+3? [/INST] Six.</s>", false), e.ids());
        assertEquals(List.of("▁Four.</s>", "▁Six.</s>"), targetRuns(e));
    }

    @Test
    void conversationalPromptCompletionTrainsOnWhatFollowsTheGenerationPrompt() throws IOException {
        SftDataset d = load("{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"completion\": [{\"role\": \"assistant\", \"content\": \"Hello there\"}]}\n", options());
        TokenizedExample e = d.example(0);
        assertArrayEquals(tok().encodeIds("<s> [INST] Hi [/INST] Hello there</s>", false), e.ids());
        assertEquals(List.of("▁Hello▁there</s>"), targetRuns(e));
    }

    @Test
    void trainOnAllTokensMakesEveryTokenATarget() throws IOException {
        SftDataset d = load("{\"prompt\": \"Define whale.\", \"completion\": \" A sea mammal.\"}\n", options().withTrainOnAllTokens(true));
        TokenizedExample e = d.example(0);
        assertEquals(e.length() - 1, e.targetCount());
    }

    @Test
    void formatCanBeForcedAndOtherRecordsMustFollowIt() throws IOException {
        String data = "{\"text\": \"x\", \"prompt\": \"p\", \"completion\": \" c\"}\n{\"text\": \"y\"}\n";
        SftOptions options = options();
        SftDataset forced = load(data, options.withFormat(RecordFormat.TEXT));
        assertEquals(2, forced.size());
        assertEquals(RecordFormat.TEXT, forced.report().format());
        BadRecordException e = assertThrows(BadRecordException.class, () -> load(data, options));
        assertTrue(e.getMessage().contains("line 2: missing key 'prompt' (dataset format: prompt/completion)"), e.getMessage());
    }

    @Test
    void badRecordsNameFileLineAndProblem() throws IOException {
        // Outside assertThrows: without the fetched tokenizer the test is skipped, not a wrong exception.
        Tokenizer tokenizer = tok();
        SftOptions options = options();
        String good = "{\"prompt\": \"a\", \"completion\": \" b\"}\n";
        String[][] cases = {
                {"{\"prompt\": \"a\", \"completion\": \" b\"", "invalid JSON"},
                {"{\"prompt\": \"a\"}", "missing key 'completion'"},
                {"{\"prompt\": 3, \"completion\": \" b\"}", "'prompt' must be a string, found a number"},
                {"{\"prompt\": \"a\", \"completion\": \"  \"}", "'completion' is empty"},
                {"[1, 2]", "a record must be a JSON object, found a list"},
        };
        for (String[] c : cases) {
            Path file = DataFiles.write(dir.resolve("bad.jsonl"), good + "\n" + c[0] + "\n" + good);
            BadRecordException e = assertThrows(BadRecordException.class, () -> SftDataset.load(file, tokenizer, options));
            assertEquals(file + ", line 3: ", e.getMessage().substring(0, file.toString().length() + 10), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
        String[][] messageCases = {
                {"[{\"role\": \"robot\", \"content\": \"x\"}]", "messages[0] has unknown role 'robot'"},
                {"[{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"\"}]", "messages[1] is an empty assistant turn"},
                {"[{\"role\": \"user\", \"content\": \"x\"}]", "no assistant turn"},
                {"[{\"role\": \"user\"}]", "messages[0].content must be a string, found nothing"},
                {"[]", "'messages' is an empty list"},
                {"\"hello\"", "'messages' must be a list of messages, found a string"},
        };
        for (String[] c : messageCases) {
            Path file = DataFiles.write(dir.resolve("bad-messages.jsonl"), "{\"messages\": " + c[0] + "}\n");
            BadRecordException e = assertThrows(BadRecordException.class, () -> SftDataset.load(file, tokenizer, options));
            assertTrue(e.getMessage().startsWith(file + ", line 1: ") && e.getMessage().contains(c[1]), e.getMessage());
        }
        Path array = DataFiles.write(dir.resolve("bad.json"), "[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": null}]", Compression.XZ);
        BadRecordException e = assertThrows(BadRecordException.class, () -> SftDataset.load(array, tokenizer, options));
        assertTrue(e.getMessage().startsWith(array + ", array element 2: 'text' must be a string, found null"), e.getMessage());
    }

    @Test
    void skippingBadRecordsCountsThemAndKeepsTheFirstReasons() throws IOException {
        StringBuilder s = new StringBuilder();
        List<Integer> badLines = new ArrayList<>();
        for (int line = 1; line <= 40; line++) {
            if (line % 3 == 0) {
                s.append("{\"prompt\": \"p\", \"completion\": ").append(line % 2 == 0 ? "\"\"" : "7").append("}\n");
                badLines.add(line);
            } else if (line % 7 == 0) {
                s.append("not json\n");
                badLines.add(line);
            } else {
                s.append("{\"prompt\": \"Item ").append(line).append("\", \"completion\": \" ok\"}\n");
            }
        }
        SftDataset d = load(s.toString(), options().withSkipBadRecords(true));
        LoadReport r = d.report();
        assertEquals(40, r.records());
        assertEquals(badLines.size(), r.skipped());
        assertEquals(40 - badLines.size(), r.used());
        assertEquals(40 - badLines.size(), d.size());
        assertEquals(5, r.firstProblems().size());
        for (int k = 0; k < 5; k++) {
            assertTrue(r.firstProblems().get(k).contains("line " + badLines.get(k) + ": "), r.firstProblems().get(k));
        }
        assertPromptCompletion("Item 1", " ok", d.example(0));
        assertPromptCompletion("Item 40", " ok", d.example(d.size() - 1));
    }

    @Test
    void truncationKeepsTheStartAndDropsExamplesLeftWithoutTargets() throws IOException {
        String longPrompt = "one two three four five six seven eight nine ten eleven twelve";
        String data = "{\"prompt\": \"Hi\", \"completion\": \" " + longPrompt + "\"}\n"
                + "{\"prompt\": \"" + longPrompt + "\", \"completion\": \" end\"}\n"
                + "{\"prompt\": \"Hi\", \"completion\": \" yes\"}\n";
        SftDataset full = load(data, options());
        int max = 8;
        SftDataset cut = load(data, options().withMaxLength(max));
        assertEquals(3, cut.report().records());
        assertEquals(2, cut.size());
        assertEquals(1, cut.report().truncated());
        assertEquals(1, cut.report().dropped());
        TokenizedExample whole = full.example(0);
        assertArrayEquals(Arrays.copyOf(whole.ids(), max), cut.example(0).ids());
        assertArrayEquals(Arrays.copyOf(whole.trainable(), max), cut.example(0).trainable());
        assertArrayEquals(full.example(2).ids(), cut.example(1).ids());
        for (int i = 0; i < cut.size(); i++) {
            assertTrue(cut.length(i) <= max);
        }
    }

    @Test
    void preferenceRecordsAreRefusedForSft() throws IOException {
        // Outside assertThrows: without the fetched tokenizer the test is skipped, not a wrong exception.
        SftOptions options = options();
        DatasetException e = assertThrows(DatasetException.class,
                () -> load("{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n", options));
        assertTrue(e.getMessage().contains("preference pairs: train on them with DPO (the dpo command"),
                e.getMessage());
    }

    @Test
    void shareGptConversationsTokenizeAsTheSameMessages() throws IOException {
        String[][] turns = {{"system", "system", "Be brief."}, {"human", "user", "Define whale."},
                {"gpt", "assistant", "A sea mammal."}, {"user", "user", "And dolphin?"}, {"model", "assistant", "Also."}};
        StringBuilder shareGpt = new StringBuilder("{\"conversations\": [");
        StringBuilder messages = new StringBuilder("{\"messages\": [");
        for (int i = 1; i < turns.length; i++) { // the Mistral template has no system turn
            String sep = i > 1 ? ", " : "";
            shareGpt.append(sep).append("{\"from\": \"").append(turns[i][0]).append("\", \"value\": \"")
                    .append(turns[i][2]).append("\"}");
            messages.append(sep).append("{\"role\": \"").append(turns[i][1]).append("\", \"content\": \"")
                    .append(turns[i][2]).append("\"}");
        }
        SftDataset a = load(shareGpt + "]}\n", options());
        assertEquals(RecordFormat.SHAREGPT, a.report().format());
        SftDataset b = SftDataset.load(DataFiles.write(dir.resolve("m.jsonl"), messages + "]}\n"), tok(), options());
        assertArrayEquals(b.example(0).ids(), a.example(0).ids());
        assertArrayEquals(b.example(0).trainable(), a.example(0).trainable());

        SftOptions options = options();
        BadRecordException e = assertThrows(BadRecordException.class, () -> load(
                "{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, {\"from\": \"tool\", \"value\": \"y\"}]}\n",
                options));
        assertTrue(e.getMessage().contains("conversations[1] is from 'tool', a speaker with no chat role"),
                e.getMessage());
    }

    @Test
    void csvTsvAndParquetFilesGiveTheExamplesOfTheirJsonLinesTwins() throws IOException {
        java.util.Random random = new java.util.Random(System.nanoTime());
        String[] words = {"whale", "a \"quoted\" word", "comma, inside", "line\nbreak", "naïve", "tab"};
        StringBuilder jsonl = new StringBuilder();
        StringBuilder csv = new StringBuilder("instruction,input,output\r\n");
        StringBuilder tsv = new StringBuilder("instruction\tinput\toutput\n");
        for (int i = 0; i < 30; i++) {
            String instruction = "Define " + words[random.nextInt(words.length)] + " " + i;
            String input = random.nextBoolean() ? "" : words[random.nextInt(words.length)];
            String output = "It means " + words[random.nextInt(words.length)] + ".";
            jsonl.append(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(java.util.Map.of(
                    "instruction", instruction, "input", input, "output", output))).append('\n');
            csv.append(quote(instruction)).append(',').append(quote(input)).append(',').append(quote(output))
                    .append("\r\n");
            tsv.append(quote(instruction).replace("\t", " ")).append('\t').append(quote(input)).append('\t')
                    .append(quote(output)).append('\n');
        }
        SftDataset expected = SftDataset.load(DataFiles.write(dir.resolve("a.jsonl"), jsonl.toString()), tok(),
                options());
        SftDataset fromCsv = SftDataset.load(DataFiles.write(dir.resolve("a.csv.xz"), csv.toString(),
                Compression.XZ), tok(), options());
        assertSameExamples(expected, fromCsv);
        assertEquals(RecordFormat.ALPACA, fromCsv.report().format());
        String tsvText = tsv.toString();
        SftDataset fromTsv = SftDataset.load(DataFiles.write(dir.resolve("a.tsv"), tsvText), tok(), options());
        assertEquals(expected.size(), fromTsv.size());

        Path chatJsonl = org.jtune.data.parquet.ParquetFixtures.copy(dir, "chat.jsonl");
        Path chatParquet = org.jtune.data.parquet.ParquetFixtures.copy(dir, "chat.parquet");
        assertSameExamples(SftDataset.load(chatJsonl, tok(), options()), SftDataset.load(chatParquet, tok(), options()));
    }

    @Test
    void aCsvRowWithTheWrongNumberOfFieldsNamesItsLine() throws IOException {
        SftOptions options = options();
        Path file = DataFiles.write(dir.resolve("bad.csv"), "prompt,completion\nHi,\" there\"\n\"multi\nline\",x,y\n");
        BadRecordException e = assertThrows(BadRecordException.class, () -> SftDataset.load(file, tok(), options));
        assertTrue(e.getMessage().startsWith(file + ", line 3: has 3 fields where the header has 2"), e.getMessage());
    }

    @Test
    void csvRowsAndFilesAreReadWithinTheCaps() throws IOException {
        String longField = "word ".repeat(40) + "\n" + "more ".repeat(40);
        Path file = DataFiles.write(dir.resolve("long.csv"), "prompt,completion\nHi,there\nHello,\"" + longField
                + "\"\nBye,now\n");
        SftOptions capped = options().withReadLimits(ReadLimits.DEFAULT.withMaxLineBytes(100));
        BadRecordException e = assertThrows(BadRecordException.class, () -> SftDataset.load(file, tok(), capped));
        assertTrue(e.getMessage().startsWith(file + ", line 3: is a row longer than 100 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("--max-line-bytes"), e.getMessage());

        SftDataset skipped = SftDataset.load(file, tok(), capped.withSkipBadRecords(true));
        assertEquals(2, skipped.size(), "the rows before and after the long one");
        assertEquals(1, skipped.report().skipped());
        assertEquals(3, SftDataset.load(file, tok(), options()).size(), "the default cap reads it whole");

        SftOptions small = options().withReadLimits(ReadLimits.DEFAULT.withMaxFileBytes(64));
        DatasetException big = assertThrows(DatasetException.class, () -> SftDataset.load(file, tok(), small));
        assertTrue(big.getMessage().contains(file + ": more than 64 bytes"), big.getMessage());
    }

    private static String quote(String field) {
        return "\"" + field.replace("\"", "\"\"") + "\"";
    }

    private static void assertSameExamples(SftDataset expected, SftDataset actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.example(i).ids(), actual.example(i).ids(), "example " + i);
            assertArrayEquals(expected.example(i).trainable(), actual.example(i).trainable(), "example " + i);
        }
    }
}

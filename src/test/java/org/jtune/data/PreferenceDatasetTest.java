package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Preference records (strings and conversations) on the real Mistral tokenizer, truncation and batches. */
class PreferenceDatasetTest {
    @TempDir
    Path dir;

    private static Tokenizer tok() {
        return TestTokenizers.mistral();
    }

    private static PreferenceOptions options() {
        return PreferenceOptions.defaults().withMaxLength(0)
                .withChatTemplate(ChatTemplate.of(BuiltinChatTemplate.MISTRAL, tok().config()));
    }

    private PreferenceDataset load(String jsonl, PreferenceOptions options) throws IOException {
        return PreferenceDataset.load(DataFiles.write(dir.resolve("p.jsonl.bz2"), jsonl, Compression.BZIP2), tok(), options);
    }

    private static int[] withEos(int[] ids) {
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = tok().requireId("</s>", "eos");
        return out;
    }

    @Test
    void stringPairsShareThePromptAndEndWithEos() throws IOException {
        String prompt = "Define the word \"whale\".";
        PreferenceDataset d = load("{\"prompt\": \"" + prompt.replace("\"", "\\\"") + "\", \"chosen\": \" A large sea mammal.\","
                + " \"rejected\": \" A small garden tool.\"}\n", options());
        PreferencePair p = d.pair(0);
        int[] promptIds = tok().encodeIds(prompt, true);
        assertArrayEquals(promptIds, p.prompt());
        assertArrayEquals(withEos(tok().encodeIds(prompt + " A large sea mammal.", true)), p.chosenSequence());
        assertArrayEquals(withEos(tok().encodeIds(prompt + " A small garden tool.", true)), p.rejectedSequence());
    }

    @Test
    void pairsWithoutASeparatorTrainAsTrlTokenizesThem() throws IOException {
        // TRL 1.x: prompt_ids = tok(prompt); chosen_ids = tok(prompt + chosen + eos)[len(prompt_ids):].
        String prompt = "Continue: the whal";
        String chosen = "e swims.";
        String rejected = "ing ship sails.";
        PreferenceDataset d = load("{\"prompt\": \"" + prompt + "\", \"chosen\": \"" + chosen
                + "\", \"rejected\": \"" + rejected + "\"}\n", options());
        int[] promptIds = tok().encodeIds(prompt, true);
        int[] withChosen = withEos(tok().encodeIds(prompt + chosen, true));
        int[] withRejected = withEos(tok().encodeIds(prompt + rejected, true));
        assertTrue(!Arrays.equals(promptIds, Arrays.copyOf(withChosen, promptIds.length)),
                "the test needs a prompt whose last token merges with the completion");
        PreferencePair p = d.pair(0);
        assertArrayEquals(promptIds, p.prompt());
        assertArrayEquals(Arrays.copyOfRange(withChosen, promptIds.length, withChosen.length), p.chosen());
        assertArrayEquals(Arrays.copyOfRange(withRejected, promptIds.length, withRejected.length), p.rejected());
        assertTrue(d.report().toString().contains("1 pair whose prompt's last tokens merge with the completion"),
                d.report().toString());
    }

    @Test
    void conversationalPairsUseTheChatTemplate() throws IOException {
        PreferenceDataset d = load("{\"prompt\": [{\"role\": \"user\", \"content\": \"Define whale.\"}],"
                + " \"chosen\": [{\"role\": \"assistant\", \"content\": \"A sea mammal.\"}],"
                + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"A tool.\"}]}\n", options());
        PreferencePair p = d.pair(0);
        assertArrayEquals(tok().encodeIds("<s> [INST] Define whale. [/INST]", false), p.prompt());
        assertArrayEquals(tok().encodeIds("<s> [INST] Define whale. [/INST] A sea mammal.</s>", false), p.chosenSequence());
        assertArrayEquals(tok().encodeIds("<s> [INST] Define whale. [/INST] A tool.</s>", false), p.rejectedSequence());
    }

    @Test
    void mixedStringsAndMessagesAreABadRecord() throws IOException {
        // Outside assertThrows: without the fetched tokenizer the test is skipped, not a wrong exception.
        PreferenceOptions options = options();
        BadRecordException e = assertThrows(BadRecordException.class, () -> load(
                "{\"prompt\": \"x\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"rejected\": \"b\"}\n", options));
        assertTrue(e.getMessage().contains("line 1: prompt, chosen and rejected must be all strings or all lists"), e.getMessage());
        e = assertThrows(BadRecordException.class, () -> load("{\"prompt\": \"x\", \"chosen\": \"a\", \"rejected\": \"\"}\n", options));
        assertTrue(e.getMessage().contains("line 1: 'rejected' is empty"), e.getMessage());
    }

    @Test
    void truncationKeepsTheStartOfEachSideAndDropsPairsWhosePromptFillsTheLimit() throws IOException {
        String data = "{\"prompt\": \"Q\", \"chosen\": \" one two three four five six seven\", \"rejected\": \" no\"}\n"
                + "{\"prompt\": \"one two three four five six seven eight nine\", \"chosen\": \" a\", \"rejected\": \" b\"}\n";
        PreferenceDataset full = load(data, options());
        int max = 6;
        PreferenceDataset cut = load(data, options().withMaxLength(max));
        assertEquals(1, cut.size());
        assertEquals(1, cut.report().truncated());
        assertEquals(1, cut.report().dropped());
        PreferencePair whole = full.pair(0);
        PreferencePair p = cut.pair(0);
        assertArrayEquals(whole.prompt(), p.prompt());
        assertArrayEquals(Arrays.copyOf(whole.chosenSequence(), max), p.chosenSequence());
        assertArrayEquals(whole.rejectedSequence(), p.rejectedSequence(), "the short side is left whole");
    }

    @Test
    void batchesPutChosenRowsFirstAndLabelOnlyCompletions() throws IOException {
        PreferenceDataset d = load("{\"prompt\": \"Q1\", \"chosen\": \" yes indeed\", \"rejected\": \" no\"}\n"
                + "{\"prompt\": \"A longer question\", \"chosen\": \" a\", \"rejected\": \" b c d e\"}\n", options());
        PreferenceBatch b = PreferenceBatches.padded(d, 2, false, PreferenceBatches.start(1, d)).next();
        assertEquals(2, b.pairs());
        int pad = d.specialTokens().pad();
        for (int row = 0; row < 4; row++) {
            PreferencePair p = d.pair(b.examples()[row % 2]);
            int[] seq = row < 2 ? p.chosenSequence() : p.rejectedSequence();
            assertEquals(seq.length, b.lengths()[row]);
            for (int k = 0; k < b.width(); k++) {
                int id = b.inputIds()[row * b.width() + k];
                int label = b.labels()[row * b.width() + k];
                assertEquals(k < seq.length ? seq[k] : pad, id, "row " + row + " col " + k);
                boolean target = k >= p.prompt().length && k < seq.length;
                assertEquals(target ? seq[k] : PackedBatch.IGNORE, label, "row " + row + " col " + k);
            }
        }
    }
}

package org.jtune.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped demo datasets load without a bad record, as SFT and preference data. */
class DemoDatasetsTest {
    @TempDir
    Path dir;

    @Test
    void shippedDatasetsLoadCleanly() throws Exception {
        Tokenizer tok = TestTokenizers.mistral();
        Path sftFile = DemoDatasets.DEFINITIONS_SFT.copyTo(dir);
        assertTrue(Files.readString(dir.resolve("LICENSE-WordNet.txt")).contains("WordNet 3.0 Copyright 2006 by Princeton University"));
        // Every record has the conversation shape; rendering all 3000 through the template would be slow, so a
        // sample of them is tokenized.
        StringBuilder sample = new StringBuilder();
        int records = 0;
        try (JsonRecordReader reader = new JsonRecordReader(sftFile)) {
            for (JsonRecord r; (r = reader.next()) != null; records++) {
                assertEquals(RecordFormat.MESSAGES, RecordFormat.detect(r));
                JsonText.messages(r, r.value().get("messages"), "messages");
                if (records % 100 == 0) {
                    sample.append(r.value()).append('\n');
                }
            }
        }
        assertEquals(3000, records);
        SftDataset sft = SftDataset.load(DataFiles.write(dir.resolve("sample.jsonl"), sample.toString()), tok,
                SftOptions.defaults().withChatTemplate(ChatTemplate.of(BuiltinChatTemplate.MISTRAL, tok.config())));
        assertEquals(30, sft.size());
        assertEquals(0, sft.report().skipped() + sft.report().truncated() + sft.report().dropped());
        PreferenceDataset dpo = PreferenceDataset.load(DemoDatasets.DEFINITIONS_DPO.copyTo(dir), tok, PreferenceOptions.defaults());
        assertEquals(2000, dpo.size());
        assertEquals(0, dpo.report().skipped() + dpo.report().truncated() + dpo.report().dropped());
    }
}

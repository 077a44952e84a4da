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
        SftDataset sft = SftDataset.load(sftFile, tok, SftOptions.defaults()
                .withChatTemplate(ChatTemplate.of(BuiltinChatTemplate.MISTRAL, tok.config())));
        assertEquals(RecordFormat.MESSAGES, sft.report().format());
        assertEquals(3000, sft.size());
        assertEquals(0, sft.report().skipped() + sft.report().truncated() + sft.report().dropped());
        PreferenceDataset dpo = PreferenceDataset.load(DemoDatasets.DEFINITIONS_DPO.copyTo(dir), tok, PreferenceOptions.defaults());
        assertEquals(2000, dpo.size());
        assertEquals(0, dpo.report().skipped() + dpo.report().truncated() + dpo.report().dropped());
    }
}

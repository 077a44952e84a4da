package org.jtune.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jtune.tokenizer.Tokenizer;

/**
 * A tokenized preference dataset (prompt/chosen/rejected records), streamed from its files.
 * <p>
 * Truncation follows TRL's DPO default (TRL 1.x: {@code max_length=1024}, {@code truncation_mode="keep_start"},
 * no separate prompt limit): prompt + chosen and prompt + rejected are each cut to the maximum length
 * keeping their start, so only completions lose tokens; a pair whose prompt alone fills the maximum
 * length would have no completion token left and is dropped (TRL filters these out too), and counted.
 */
public final class PreferenceDataset {
    private final List<PreferencePair> pairs;
    private final LoadReport report;
    private final SpecialTokens specialTokens;

    private PreferenceDataset(List<PreferencePair> pairs, LoadReport report, SpecialTokens specialTokens) {
        this.pairs = pairs;
        this.report = report;
        this.specialTokens = specialTokens;
    }

    public static PreferenceDataset load(Path file, Tokenizer tokenizer, PreferenceOptions options) {
        return load(List.of(file), tokenizer, options);
    }

    public static PreferenceDataset load(List<Path> files, Tokenizer tokenizer, PreferenceOptions options) {
        PreferenceEncoder encoder = new PreferenceEncoder(tokenizer, options);
        List<PreferencePair> pairs = new ArrayList<>();
        RecordLoop loop = new RecordLoop(RecordFormat.PREFERENCE, options.skipBadRecords(), options.problemsKept(),
                options.readLimits());
        LoadReport report = loop.run(files, (record, format) -> {
            PreferencePair p = encoder.encode(record);
            int max = options.maxLength();
            if (max > 0 && p.prompt().length >= max) {
                return RecordLoop.Outcome.DROPPED;
            }
            boolean cut = max > 0 && Math.max(p.chosen().length, p.rejected().length) + p.prompt().length > max;
            pairs.add(cut ? p.keepStart(max) : p);
            return cut ? RecordLoop.Outcome.TRUNCATED : RecordLoop.Outcome.USED;
        });
        if (encoder.promptMismatches() > 0) {
            report = report.withNote(LoadReport.count(encoder.promptMismatches(), "pair") + " whose prompt's last "
                    + "tokens merge with the completion (no space or newline between them): trained as TRL does, on "
                    + "the prompt's own tokens followed by the completion's");
        }
        return new PreferenceDataset(List.copyOf(pairs), report, SpecialTokens.of(tokenizer));
    }

    /** A dataset of pairs already encoded (e.g. a split of a loaded one). */
    public static PreferenceDataset of(List<PreferencePair> pairs, SpecialTokens specialTokens) {
        LoadReport report = new LoadReport(RecordFormat.PREFERENCE, pairs.size(), pairs.size(), 0, 0, 0, List.of());
        return new PreferenceDataset(List.copyOf(pairs), report, specialTokens);
    }

    public int size() {
        return pairs.size();
    }

    public PreferencePair pair(int i) {
        return pairs.get(i);
    }

    public LoadReport report() {
        return report;
    }

    public SpecialTokens specialTokens() {
        return specialTokens;
    }
}

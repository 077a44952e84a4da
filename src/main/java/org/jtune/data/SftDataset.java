package org.jtune.data;

import java.nio.file.Path;
import java.util.List;
import org.jtune.tokenizer.Tokenizer;

/**
 * A tokenized supervised fine-tuning dataset: the files are streamed record by record, each record
 * is tokenized (see {@link SftEncoder} for BOS/EOS and loss targets), cut to the maximum length by
 * keeping its start (TRL's default "keep_start"), and kept in memory as compact token arrays.
 * An example left with no target after truncation (its prompt fills the maximum length) is dropped
 * and counted in the report.
 */
public final class SftDataset {
    private final TokenStore store;
    private final LoadReport report;
    private final SpecialTokens specialTokens;
    private final int maxLength;

    private SftDataset(TokenStore store, LoadReport report, SpecialTokens specialTokens, int maxLength) {
        this.store = store;
        this.report = report;
        this.specialTokens = specialTokens;
        this.maxLength = maxLength;
    }

    public static SftDataset load(Path file, Tokenizer tokenizer, SftOptions options) {
        return load(List.of(file), tokenizer, options);
    }

    /** Reads the files in order as one dataset; its format is that of the first usable record unless forced. */
    public static SftDataset load(List<Path> files, Tokenizer tokenizer, SftOptions options) {
        SftEncoder encoder = new SftEncoder(tokenizer, options);
        TokenStore store = new TokenStore();
        RecordLoop loop = new RecordLoop(options.format(), options.skipBadRecords(), options.problemsKept(),
                options.readLimits());
        LoadReport report = loop.run(files, (record, format) -> {
            if (format == RecordFormat.PREFERENCE) {
                throw new DatasetException(record.location() + ": prompt/chosen/rejected records are preference "
                        + "pairs: train on them with DPO (the dpo command, or DpoTrainer), not supervised fine-tuning");
            }
            TokenizedExample e = encoder.encode(record, format);
            boolean cut = options.maxLength() > 0 && e.length() > options.maxLength();
            if (cut) {
                e = e.keepStart(options.maxLength());
            }
            if (e.targetCount() == 0) {
                if (cut) {
                    return RecordLoop.Outcome.DROPPED;
                }
                throw new BadRecordException(record.location(), "no token to train on");
            }
            store.add(e);
            return cut ? RecordLoop.Outcome.TRUNCATED : RecordLoop.Outcome.USED;
        });
        return new SftDataset(store, report, SpecialTokens.of(tokenizer), options.maxLength());
    }

    /** Builds a dataset from examples already tokenized (e.g. by a caller's own format). */
    public static SftDataset of(List<TokenizedExample> examples, SpecialTokens specialTokens, int maxLength) {
        TokenStore store = new TokenStore();
        for (TokenizedExample e : examples) {
            if (maxLength > 0 && e.length() > maxLength) {
                throw new IllegalArgumentException("example of " + e.length() + " tokens is longer than maxLength " + maxLength);
            }
            store.add(e);
        }
        LoadReport report = new LoadReport(null, examples.size(), examples.size(), 0, 0, 0, List.of());
        return new SftDataset(store, report, specialTokens, maxLength);
    }

    public int size() {
        return store.size();
    }

    public int length(int i) {
        return store.length(i);
    }

    public TokenizedExample example(int i) {
        return store.get(i);
    }

    TokenStore store() {
        return store;
    }

    public LoadReport report() {
        return report;
    }

    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    /** The maximum example length this dataset was cut to (0: none). */
    public int maxLength() {
        return maxLength;
    }
}

package org.jtune.data;

import java.nio.file.Path;
import org.jtune.tokenizer.TokenizerException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * Reads the records of a list of files in order, detects (or takes) the dataset format from the
 * first usable record, and hands each record to a consumer; bad records fail the load or, when
 * skipping is asked, are counted with their first few reasons.
 */
final class RecordLoop {
    /** What a consumer did with a record. */
    enum Outcome { USED, TRUNCATED, DROPPED }

    private final ReadLimits limits;
    private final boolean skipBad;
    private final int problemsKept;
    private final List<String> problems = new ArrayList<>();
    private RecordFormat format;
    private long records;
    private long used;
    private long skipped;
    private long truncated;
    private long dropped;

    RecordLoop(RecordFormat format, boolean skipBad, int problemsKept, ReadLimits limits) {
        this.limits = limits;
        this.format = format;
        this.skipBad = skipBad;
        this.problemsKept = problemsKept;
    }

    LoadReport run(List<Path> files, BiFunction<JsonRecord, RecordFormat, Outcome> consumer) {
        if (files.isEmpty()) {
            throw new DatasetException("no data files given");
        }
        for (Path file : files) {
            try (RecordReader reader = RecordReaders.open(file, limits)) {
                while (true) {
                    JsonRecord r;
                    try {
                        r = reader.next();
                    } catch (BadRecordException e) {
                        records++;
                        skip(e);
                        continue;
                    }
                    if (r == null) {
                        break;
                    }
                    records++;
                    try {
                        RecordFormat f = format != null ? format : RecordFormat.detect(r);
                        Outcome o = consumer.apply(r, f);
                        format = f;
                        switch (o) {
                            case USED -> used++;
                            case TRUNCATED -> {
                                used++;
                                truncated++;
                            }
                            case DROPPED -> dropped++;
                        }
                    } catch (BadRecordException e) {
                        skip(e);
                    } catch (TokenizerException e) {
                        // Text the tokenizer refuses (a lone surrogate) makes the record bad, not the run.
                        skip(new BadRecordException(r.location(), e.getMessage()));
                    }
                }
            }
        }
        if (used == 0) {
            throw new DatasetException("no usable records in " + files + " (" + records + " read, " + skipped
                    + " bad, " + dropped + " dropped)" + (dropped > 0 ? "; dropped records have prompts that fill the "
                    + "maximum length, leaving nothing to train on: raise the maximum length (--max-seq-length)" : "")
                    + (problems.isEmpty() ? "" : "; first problem: " + problems.getFirst()));
        }
        return new LoadReport(format, records, used, skipped, truncated, dropped, problems);
    }

    private void skip(BadRecordException e) {
        if (!skipBad) {
            throw e;
        }
        skipped++;
        if (problems.size() < problemsKept) {
            problems.add(e.getMessage());
        }
    }
}

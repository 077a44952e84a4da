package org.jtune.data;

import org.jtune.tokenizer.ChatTemplate;

/**
 * How an SFT dataset is read.
 *
 * @param format the record format, or null to detect it from the first record
 * @param chatTemplate the template for message lists, or null for the tokenizer's own
 * @param trainOnAllTokens compute the loss on every token, prompts and user turns included (default: completions and assistant turns only)
 * @param maxLength the longest example in tokens; longer ones keep their first maxLength tokens (0: no limit)
 * @param skipBadRecords skip records that cannot be used and count them, instead of failing on the first
 * @param problemsKept how many skip reasons the report keeps verbatim
 * @param readLimits caps on line length and decompressed size per file
 */
public record SftOptions(RecordFormat format, ChatTemplate chatTemplate, boolean trainOnAllTokens, int maxLength,
                         boolean skipBadRecords, int problemsKept, ReadLimits readLimits) {
    /** TRL's default maximum length. */
    public static final int DEFAULT_MAX_LENGTH = 1024;

    public SftOptions {
        if (format == RecordFormat.PREFERENCE) {
            throw new IllegalArgumentException("prompt/chosen/rejected records are for preference training, not SFT");
        }
        if (maxLength < 0 || problemsKept < 0) {
            throw new IllegalArgumentException("maxLength and problemsKept must be >= 0, got " + maxLength + ", " + problemsKept);
        }
    }

    public static SftOptions defaults() {
        return new SftOptions(null, null, false, DEFAULT_MAX_LENGTH, false, 5, ReadLimits.DEFAULT);
    }

    public SftOptions withFormat(RecordFormat f) {
        return new SftOptions(f, chatTemplate, trainOnAllTokens, maxLength, skipBadRecords, problemsKept, readLimits);
    }

    public SftOptions withChatTemplate(ChatTemplate t) {
        return new SftOptions(format, t, trainOnAllTokens, maxLength, skipBadRecords, problemsKept, readLimits);
    }

    public SftOptions withTrainOnAllTokens(boolean all) {
        return new SftOptions(format, chatTemplate, all, maxLength, skipBadRecords, problemsKept, readLimits);
    }

    public SftOptions withMaxLength(int max) {
        return new SftOptions(format, chatTemplate, trainOnAllTokens, max, skipBadRecords, problemsKept, readLimits);
    }

    public SftOptions withReadLimits(ReadLimits limits) {
        return new SftOptions(format, chatTemplate, trainOnAllTokens, maxLength, skipBadRecords, problemsKept, limits);
    }

    public SftOptions withSkipBadRecords(boolean skip) {
        return new SftOptions(format, chatTemplate, trainOnAllTokens, maxLength, skip, problemsKept, readLimits);
    }
}

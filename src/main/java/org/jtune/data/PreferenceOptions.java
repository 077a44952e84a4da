package org.jtune.data;

import org.jtune.tokenizer.ChatTemplate;

/**
 * How a preference dataset is read.
 *
 * @param chatTemplate the template for message lists, or null for the tokenizer's own
 * @param maxLength the longest prompt+completion sequence (0: no limit); see {@link PreferenceDataset} for how longer ones are cut
 * @param skipBadRecords skip records that cannot be used and count them, instead of failing on the first
 * @param problemsKept how many skip reasons the report keeps verbatim
 * @param readLimits caps on line length and decompressed size per file
 */
public record PreferenceOptions(ChatTemplate chatTemplate, int maxLength, boolean skipBadRecords, int problemsKept,
                                ReadLimits readLimits) {
    /** TRL's DPO default maximum length. */
    public static final int DEFAULT_MAX_LENGTH = 1024;

    public PreferenceOptions {
        if (maxLength < 0 || problemsKept < 0) {
            throw new IllegalArgumentException("maxLength and problemsKept must be >= 0, got " + maxLength + ", " + problemsKept);
        }
    }

    public static PreferenceOptions defaults() {
        return new PreferenceOptions(null, DEFAULT_MAX_LENGTH, false, 5, ReadLimits.DEFAULT);
    }

    public PreferenceOptions withChatTemplate(ChatTemplate t) {
        return new PreferenceOptions(t, maxLength, skipBadRecords, problemsKept, readLimits);
    }

    public PreferenceOptions withMaxLength(int max) {
        return new PreferenceOptions(chatTemplate, max, skipBadRecords, problemsKept, readLimits);
    }

    public PreferenceOptions withReadLimits(ReadLimits limits) {
        return new PreferenceOptions(chatTemplate, maxLength, skipBadRecords, problemsKept, limits);
    }

    public PreferenceOptions withSkipBadRecords(boolean skip) {
        return new PreferenceOptions(chatTemplate, maxLength, skip, problemsKept, readLimits);
    }
}

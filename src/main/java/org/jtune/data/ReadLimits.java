package org.jtune.data;

/**
 * Caps on what one data file may make the reader hold: the bytes of one record line, and the bytes
 * of the whole file after decompression. A JSON line of gigabytes, {@code /dev/zero} behind a link,
 * or a small archive that inflates without end ends in a clear error instead of an exhausted heap.
 */
public record ReadLimits(long maxLineBytes, long maxFileBytes) {
    /** Far beyond real records (a 64 MiB line is a book), far below what breaks the reader. */
    public static final ReadLimits DEFAULT = new ReadLimits(64L << 20, 64L << 30);

    /** Java arrays end below 2 GiB: one line cannot be larger. */
    public static final long MAX_LINE_BYTES = Integer.MAX_VALUE - 16;

    public ReadLimits {
        if (maxLineBytes <= 0 || maxLineBytes > MAX_LINE_BYTES) {
            throw new IllegalArgumentException("the line cap must be in [1, " + MAX_LINE_BYTES + "] bytes, got "
                    + maxLineBytes);
        }
        if (maxFileBytes <= 0) {
            throw new IllegalArgumentException("the file size cap must be positive, got " + maxFileBytes);
        }
    }

    public ReadLimits withMaxLineBytes(long bytes) {
        return new ReadLimits(bytes, maxFileBytes);
    }

    public ReadLimits withMaxFileBytes(long bytes) {
        return new ReadLimits(maxLineBytes, bytes);
    }
}

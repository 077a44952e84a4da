package org.jtune.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import io.airlift.compress.v3.zstd.ZstdInputStream;

/**
 * The compression of a data file, recognised by its first bytes (never by its name): none, gzip,
 * xz, bzip2 or zstd, each decoded in Java (zstd by aircompressor's pure-Java decoder).
 */
public enum Compression {
    NONE(new byte[0]),
    GZIP(new byte[] {0x1f, (byte) 0x8b}),
    XZ(new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0}),
    BZIP2(new byte[] {'B', 'Z', 'h'}),
    ZSTD(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd});

    private static final int LONGEST_MAGIC = 6;

    private final byte[] magic;

    Compression(byte[] magic) {
        this.magic = magic;
    }

    /** The compression whose magic number starts {@code head}; NONE when no known one does. */
    public static Compression detect(byte[] head, int length) {
        for (Compression c : values()) {
            if (c != NONE && length >= c.magic.length
                    && Arrays.equals(head, 0, c.magic.length, c.magic, 0, c.magic.length)) {
                return c;
            }
        }
        return NONE;
    }

    /** The compression of a file, from its first bytes. */
    public static Compression of(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(LONGEST_MAGIC);
            return detect(head, head.length);
        }
    }

    /** Opens a file for reading its decompressed bytes. */
    public static InputStream open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            raw.mark(LONGEST_MAGIC);
            byte[] head = raw.readNBytes(LONGEST_MAGIC);
            raw.reset();
            Compression c = detect(head, head.length);
            return switch (c) {
                case NONE -> raw;
                // Concatenated members are read as one stream, as gzip -d and xz -d do.
                case GZIP -> new BufferedInputStream(GzipCompressorInputStream.builder()
                        .setInputStream(raw).setDecompressConcatenated(true).get(), 1 << 16);
                case XZ -> new BufferedInputStream(XZCompressorInputStream.builder()
                        .setInputStream(raw).setDecompressConcatenated(true).get(), 1 << 16);
                case BZIP2 -> new BufferedInputStream(new BZip2CompressorInputStream(raw, true), 1 << 16);
                case ZSTD -> new BufferedInputStream(new ZstdInputStream(raw), 1 << 16);
            };
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }
}

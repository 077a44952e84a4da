package org.jtune.data.parquet;

import io.airlift.compress.v3.zstd.ZstdJavaDecompressor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.zip.GZIPInputStream;

/**
 * The compressions of parquet pages that Hub datasets use: none, SNAPPY (pyarrow's default), GZIP and ZSTD, each
 * decoded in Java (zstd by aircompressor's pure-Java decoder).
 */
final class PageCodec {
    static final int UNCOMPRESSED = 0, SNAPPY = 1, GZIP = 2, LZO = 3, BROTLI = 4, LZ4 = 5, ZSTD = 6, LZ4_RAW = 7;
    private static final String[] NAMES = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};

    private PageCodec() {}

    static void check(int codec, String column) {
        if (codec != UNCOMPRESSED && codec != SNAPPY && codec != GZIP && codec != ZSTD) {
            throw new ParquetException("column '" + column + "' is compressed with "
                    + (codec >= 0 && codec < NAMES.length ? NAMES[codec] : "codec " + codec)
                    + ", which this reader does not have (it reads snappy, gzip, zstd and uncompressed files); "
                    + "rewrite the file with one of those");
        }
    }

    /** The {@code size} bytes that {@code data[from, to)} decompresses to. */
    static byte[] decompress(int codec, byte[] data, int from, int to, int size) {
        byte[] out = switch (codec) {
            case UNCOMPRESSED -> java.util.Arrays.copyOfRange(data, from, to);
            case SNAPPY -> Snappy.decompress(data, from, to, size);
            case GZIP -> gunzip(data, from, to, size);
            case ZSTD -> {
                byte[] buffer = new byte[size];
                try {
                    int n = new ZstdJavaDecompressor().decompress(data, from, to - from, buffer, 0, size);
                    yield n == size ? buffer : java.util.Arrays.copyOf(buffer, n);
                } catch (RuntimeException e) {
                    throw new ParquetException("a zstd page cannot be decompressed: " + e.getMessage());
                }
            }
            default -> throw new ParquetException("compression codec " + codec + " is not read");
        };
        if (out.length != size) {
            throw new ParquetException("a page decompressed to " + out.length + " bytes, not the " + size
                    + " its header announced");
        }
        return out;
    }

    /** At most {@code size + 1} bytes are read: one more than announced is enough to refuse the page. */
    private static byte[] gunzip(byte[] data, int from, int to, int size) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(data, from, to - from))) {
            return in.readNBytes(size + 1);
        } catch (IOException e) {
            throw new ParquetException("a gzip page cannot be decompressed: " + e.getMessage());
        }
    }
}

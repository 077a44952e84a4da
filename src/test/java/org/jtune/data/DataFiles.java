package org.jtune.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;

/** Writes test data files, plain or compressed. */
final class DataFiles {
    private DataFiles() {
    }

    static Path write(Path file, String text, Compression compression) throws IOException {
        try (OutputStream raw = Files.newOutputStream(file); OutputStream out = compressor(raw, compression)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    static Path write(Path file, String text) throws IOException {
        return write(file, text, Compression.NONE);
    }

    private static OutputStream compressor(OutputStream raw, Compression c) throws IOException {
        return switch (c) {
            case NONE -> raw;
            case GZIP -> new GzipCompressorOutputStream(raw);
            // Preset 1: the default preset's large dictionary makes each writer slow to create.
            case XZ -> new XZCompressorOutputStream(raw, 1);
            case BZIP2 -> new BZip2CompressorOutputStream(raw);
            case ZSTD -> new io.airlift.compress.v3.zstd.ZstdOutputStream(raw);
        };
    }
}

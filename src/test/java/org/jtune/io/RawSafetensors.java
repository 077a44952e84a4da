package org.jtune.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, independently of the writer, to test the reader. */
final class RawSafetensors {
    private RawSafetensors() {}

    /** A file whose length prefix is the true length of {@code header}, followed by {@code data}. */
    static byte[] bytes(String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return bytes(json.length, json, data);
    }

    /** A file with an arbitrary length prefix (may lie), header bytes and data. */
    static byte[] bytes(long lengthPrefix, byte[] header, byte[] data) {
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(lengthPrefix).put(header).put(data).array();
    }

    static Path write(Path folder, String name, byte[] content) throws IOException {
        Path file = folder.resolve(name);
        Files.write(file, content);
        return file;
    }
}

package org.jtune.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF reader written for the tests from the format's specification (ggml's docs/gguf.md), independent of
 * {@link GgufWriter}: header, typed key-values, tensor infos, and the data section start (aligned to
 * {@code general.alignment}, default 32).
 */
public final class GgufFileReader {
    public record TensorEntry(String name, long[] dims, int type, long offset) {
    }

    public final int version;
    public final Map<String, Object> metadata = new LinkedHashMap<>();
    final Map<String, Integer> metadataTypes = new LinkedHashMap<>();
    public final List<TensorEntry> tensors = new ArrayList<>();
    final long dataStart;
    final ByteBuffer file;

    public GgufFileReader(Path path) throws IOException {
        file = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        file.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
            throw new IOException("not a GGUF file: magic " + new String(magic, StandardCharsets.ISO_8859_1));
        }
        version = file.getInt();
        long tensorCount = file.getLong();
        long kvCount = file.getLong();
        for (long i = 0; i < kvCount; i++) {
            String key = string();
            int type = file.getInt();
            metadataTypes.put(key, type);
            metadata.put(key, value(type));
        }
        for (long i = 0; i < tensorCount; i++) {
            String name = string();
            int nDims = file.getInt();
            long[] dims = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = file.getLong();
            }
            tensors.add(new TensorEntry(name, dims, file.getInt(), file.getLong()));
        }
        long alignment = metadata.containsKey("general.alignment") ? ((Number) metadata.get("general.alignment")).longValue() : 32;
        dataStart = (file.position() + alignment - 1) / alignment * alignment;
    }

    /** The bytes of a tensor, {@code length} of them. */
    public byte[] data(TensorEntry t, int length) {
        byte[] out = new byte[length];
        file.get((int) (dataStart + t.offset()), out);
        return out;
    }

    private String string() {
        long n = file.getLong();
        byte[] b = new byte[Math.toIntExact(n)];
        file.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0 -> file.get() & 0xFF;
            case 1 -> (int) file.get();
            case 2 -> file.getShort() & 0xFFFF;
            case 3 -> (int) file.getShort();
            case 4 -> file.getInt() & 0xFFFFFFFFL;
            case 5 -> file.getInt();
            case 6 -> file.getFloat();
            case 7 -> {
                byte b = file.get();
                if (b != 0 && b != 1) {
                    throw new IllegalStateException("bool byte " + b);
                }
                yield b == 1;
            }
            case 8 -> string();
            case 9 -> {
                int elementType = file.getInt();
                long n = file.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    list.add(value(elementType));
                }
                yield list;
            }
            case 10 -> file.getLong();
            case 11 -> file.getLong();
            case 12 -> file.getDouble();
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        };
    }
}

package org.jtune.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key-value metadata of a GGUF file, in insertion order, each value with its GGUF type. Keys are unique; adding
 * a key twice is a bug and refused. Serialized little-endian as GGUF version 3 lays it out.
 */
public final class GgufMetadata {
    /** GGUF value type ids. */
    private static final int UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10;

    private final Map<String, Value> entries = new LinkedHashMap<>();

    /** A typed value and how it is written. */
    private record Value(int type, Object value) {
    }

    public GgufMetadata putString(String key, String value) {
        return put(key, STRING, value);
    }

    /** An unsigned 32-bit value (GGUF's uint32); {@code value} must be in [0, 2^32). */
    public GgufMetadata putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(key + ": " + value + " does not fit an unsigned 32-bit value");
        }
        return put(key, UINT32, value);
    }

    public GgufMetadata putInt32(String key, int value) {
        return put(key, INT32, value);
    }

    public GgufMetadata putUInt64(String key, long value) {
        return put(key, UINT64, value);
    }

    public GgufMetadata putFloat32(String key, float value) {
        return put(key, FLOAT32, value);
    }

    public GgufMetadata putBool(String key, boolean value) {
        return put(key, BOOL, value);
    }

    public GgufMetadata putStringArray(String key, List<String> values) {
        return put(key, ARRAY, new ArrayValue(STRING, List.copyOf(values)));
    }

    public GgufMetadata putInt32Array(String key, int[] values) {
        return put(key, ARRAY, new ArrayValue(INT32, values.clone()));
    }

    public GgufMetadata putFloat32Array(String key, float[] values) {
        return put(key, ARRAY, new ArrayValue(FLOAT32, values.clone()));
    }

    private record ArrayValue(int elementType, Object elements) {
    }

    private GgufMetadata put(String key, int type, Object value) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a GGUF metadata key must not be empty");
        }
        if (value == null) {
            throw new IllegalArgumentException(key + ": a GGUF metadata value must not be null");
        }
        if (entries.putIfAbsent(key, new Value(type, value)) != null) {
            throw new IllegalArgumentException("GGUF metadata key " + key + " given twice");
        }
        return this;
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** The entries as written in the file: key, value type, value. */
    byte[] serialize() {
        Out out = new Out();
        entries.forEach((key, v) -> {
            out.string(key);
            out.u32(v.type);
            out.value(v.type, v.value);
        });
        return out.toByteArray();
    }

    /** Little-endian GGUF primitives. */
    static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u32(long v) {
            scratch.clear();
            scratch.putInt((int) v);
            bytes.write(scratch.array(), 0, 4);
        }

        void u64(long v) {
            scratch.clear();
            scratch.putLong(v);
            bytes.write(scratch.array(), 0, 8);
        }

        void f32(float v) {
            scratch.clear();
            scratch.putFloat(v);
            bytes.write(scratch.array(), 0, 4);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            bytes.write(utf8, 0, utf8.length);
        }

        void value(int type, Object value) {
            switch (type) {
                case UINT32 -> u32((Long) value);
                case INT32 -> u32((Integer) value);
                case FLOAT32 -> f32((Float) value);
                case BOOL -> bytes.write((Boolean) value ? 1 : 0);
                case STRING -> string((String) value);
                case UINT64 -> u64((Long) value);
                case ARRAY -> array((ArrayValue) value);
                default -> throw new IllegalStateException("GGUF value type " + type);
            }
        }

        @SuppressWarnings("unchecked")
        private void array(ArrayValue a) {
            u32(a.elementType);
            switch (a.elementType) {
                case STRING -> {
                    List<String> list = (List<String>) a.elements;
                    u64(list.size());
                    list.forEach(this::string);
                }
                case INT32 -> {
                    int[] values = (int[]) a.elements;
                    u64(values.length);
                    for (int v : values) {
                        u32(v);
                    }
                }
                case FLOAT32 -> {
                    float[] values = (float[]) a.elements;
                    u64(values.length);
                    for (float v : values) {
                        f32(v);
                    }
                }
                default -> throw new IllegalStateException("GGUF array type " + a.elementType);
            }
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }
}

package org.jtune.data.parquet;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes Thrift's compact protocol, in which parquet writes its footer and page headers, into plain values: a
 * struct is a {@code Map} from field id to value; integers are {@code Long}, binary is {@code byte[]}, lists are
 * {@code List}. The parquet classes pick the fields they know by id and ignore the rest, as Thrift readers do.
 */
final class ThriftCompact {
    private static final int STOP = 0, TRUE = 1, FALSE = 2, BYTE = 3, I16 = 4, I32 = 5, I64 = 6, DOUBLE = 7,
            BINARY = 8, LIST = 9, SET = 10, MAP = 11, STRUCT = 12;
    private static final int MAX_DEPTH = 64;

    private final ByteCursor in;

    ThriftCompact(ByteCursor in) {
        this.in = in;
    }

    /** A struct: field id to value. */
    Struct struct() {
        return struct(0);
    }

    private Struct struct(int depth) {
        if (depth > MAX_DEPTH) {
            throw new ParquetException("metadata nested deeper than " + MAX_DEPTH + " levels");
        }
        Map<Integer, Object> fields = new HashMap<>();
        int lastId = 0;
        while (true) {
            int header = in.u8();
            int type = header & 0x0f;
            if (type == STOP) {
                return new Struct(fields);
            }
            int delta = header >>> 4;
            int id = delta != 0 ? lastId + delta : (int) in.zigzag();
            lastId = id;
            fields.put(id, value(type, depth));
        }
    }

    private Object value(int type, int depth) {
        return switch (type) {
            case TRUE -> Boolean.TRUE;
            case FALSE -> Boolean.FALSE;
            case BYTE -> (long) (byte) in.u8();
            case I16, I32, I64 -> in.zigzag();
            case DOUBLE -> Double.longBitsToDouble(in.i64());
            case BINARY -> in.bytes(Math.toIntExact(in.varint()));
            case LIST, SET -> list(depth);
            case MAP -> map(depth);
            case STRUCT -> struct(depth + 1);
            default -> throw new ParquetException("unknown Thrift type " + type + " in the metadata");
        };
    }

    private List<Object> list(int depth) {
        int header = in.u8();
        int size = header >>> 4;
        if (size == 15) {
            size = Math.toIntExact(in.varint());
        }
        int type = header & 0x0f;
        List<Object> items = new ArrayList<>(Math.min(size, 1 << 16));
        for (int i = 0; i < size; i++) {
            // Booleans in collections are one byte each (1 true), not folded into a field header.
            items.add(type == TRUE || type == FALSE ? in.u8() == TRUE : value(type, depth + 1));
        }
        return items;
    }

    private Map<Object, Object> map(int depth) {
        int size = Math.toIntExact(in.varint());
        Map<Object, Object> out = new HashMap<>();
        if (size == 0) {
            return out;
        }
        int types = in.u8();
        for (int i = 0; i < size; i++) {
            out.put(value(types >>> 4, depth + 1), value(types & 0x0f, depth + 1));
        }
        return out;
    }

    /** A decoded struct with typed getters by field id. */
    record Struct(Map<Integer, Object> fields) {
        boolean has(int id) {
            return fields.containsKey(id);
        }

        long integer(int id, long otherwise) {
            Object v = fields.get(id);
            return v == null ? otherwise : (Long) v;
        }

        long integer(int id) {
            Object v = fields.get(id);
            if (v == null) {
                throw new ParquetException("required metadata field " + id + " is missing");
            }
            return (Long) v;
        }

        boolean bool(int id, boolean otherwise) {
            Object v = fields.get(id);
            return v == null ? otherwise : (Boolean) v;
        }

        String string(int id) {
            Object v = fields.get(id);
            return v == null ? null : new String((byte[]) v, StandardCharsets.UTF_8);
        }

        Struct struct(int id) {
            return (Struct) fields.get(id);
        }

        @SuppressWarnings("unchecked")
        List<Object> list(int id) {
            Object v = fields.get(id);
            return v == null ? List.of() : (List<Object>) v;
        }
    }
}

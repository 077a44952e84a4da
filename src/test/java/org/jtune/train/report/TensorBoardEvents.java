package org.jtune.train.report;

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
 * Reads TensorBoard event files as TensorBoard does, written from the formats' descriptions (TFRecord framing with
 * CRC-32C masked as {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}; tensorflow/core/util/event.proto and
 * summary.proto), independently of the writer: CRCs are computed bit by bit here.
 */
public final class TensorBoardEvents {
    /** One Event: its step (-1 where absent), file version (null where absent), and scalar values by tag. */
    public record Event(double wallTime, long step, String fileVersion, Map<String, Float> scalars) {}

    private TensorBoardEvents() {}

    public static List<Event> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (in.hasRemaining()) {
            byte[] lengthBytes = new byte[8];
            in.get(lengthBytes);
            int lengthCrc = in.getInt();
            if (lengthCrc != masked(crc32c(lengthBytes))) {
                throw new IOException("bad length CRC at record " + events.size());
            }
            long length = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] data = new byte[Math.toIntExact(length)];
            in.get(data);
            if (in.getInt() != masked(crc32c(data))) {
                throw new IOException("bad data CRC at record " + events.size());
            }
            events.add(event(data));
        }
        return events;
    }

    static int masked(int crc) {
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    /** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit. */
    static int crc32c(byte[] bytes) {
        int crc = ~0;
        for (byte b : bytes) {
            crc ^= b & 0xff;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
            }
        }
        return ~crc;
    }

    private static Event event(byte[] data) throws IOException {
        Wire w = new Wire(data);
        double wall = 0;
        long step = -1;
        String version = null;
        Map<String, Float> scalars = new LinkedHashMap<>();
        while (w.more()) {
            long key = w.varint();
            int field = (int) (key >>> 3);
            int type = (int) (key & 7);
            if (field == 1 && type == 1) {
                wall = Double.longBitsToDouble(w.fixed64());
            } else if (field == 2 && type == 0) {
                step = w.varint();
            } else if (field == 3 && type == 2) {
                version = new String(w.bytes(), StandardCharsets.UTF_8);
            } else if (field == 5 && type == 2) {
                Wire summary = new Wire(w.bytes());
                while (summary.more()) {
                    if (summary.varint() != (1 << 3 | 2)) {
                        throw new IOException("unexpected field in Summary");
                    }
                    Wire value = new Wire(summary.bytes());
                    String tag = null;
                    Float simple = null;
                    while (value.more()) {
                        long k = value.varint();
                        if (k == (1 << 3 | 2)) {
                            tag = new String(value.bytes(), StandardCharsets.UTF_8);
                        } else if (k == (2 << 3 | 5)) {
                            simple = Float.intBitsToFloat(value.fixed32());
                        } else {
                            throw new IOException("unexpected field " + k + " in Summary.Value");
                        }
                    }
                    scalars.put(tag, simple);
                }
            } else {
                throw new IOException("unexpected field " + field + " of wire type " + type + " in Event");
            }
        }
        return new Event(wall, step, version, scalars);
    }

    private static final class Wire {
        private final ByteBuffer b;

        Wire(byte[] data) {
            b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean more() {
            return b.hasRemaining();
        }

        long varint() {
            long v = 0;
            for (int shift = 0; ; shift += 7) {
                int x = b.get() & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
        }

        long fixed64() {
            return b.getLong();
        }

        int fixed32() {
            return b.getInt();
        }

        byte[] bytes() {
            byte[] out = new byte[Math.toIntExact(varint())];
            b.get(out);
            return out;
        }
    }
}

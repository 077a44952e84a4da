package org.jtune.data.parquet;

/** A read position in a byte array, with the little-endian and varint reads the parquet encodings need. */
final class ByteCursor {
    final byte[] data;
    int pos;
    final int end;

    ByteCursor(byte[] data, int pos, int end) {
        if (pos < 0 || end > data.length || pos > end) {
            throw new ParquetException("a length in the file points outside its data (" + pos + ".." + end + " of "
                    + data.length + " bytes)");
        }
        this.data = data;
        this.pos = pos;
        this.end = end;
    }

    ByteCursor(byte[] data) {
        this(data, 0, data.length);
    }

    int remaining() {
        return end - pos;
    }

    private void need(int n) {
        if (n < 0 || pos + n > end) {
            throw new ParquetException("data ends early: " + n + " bytes needed at offset " + pos + ", " + remaining()
                    + " left");
        }
    }

    int u8() {
        need(1);
        return data[pos++] & 0xff;
    }

    int i32() {
        need(4);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16
                | (data[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    long i64() {
        long lo = i32() & 0xffffffffL;
        long hi = i32() & 0xffffffffL;
        return lo | hi << 32;
    }

    /** An unsigned LEB128 varint. */
    long varint() {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = u8();
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new ParquetException("a varint longer than 10 bytes at offset " + pos);
    }

    long zigzag() {
        long v = varint();
        return (v >>> 1) ^ -(v & 1);
    }

    byte[] bytes(int n) {
        need(n);
        byte[] out = java.util.Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return out;
    }

    /** Advances past {@code n} bytes and returns where they started. */
    int skip(int n) {
        need(n);
        int start = pos;
        pos += n;
        return start;
    }
}

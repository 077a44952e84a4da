package org.jtune.data.parquet;

/**
 * Decompresses a raw Snappy block (the format parquet pages use, without the framing of .sz files): a varint of
 * the uncompressed length, then literals and back-references of 1, 2 or 4 offset bytes.
 */
final class Snappy {
    private Snappy() {}

    /** Decompresses a block that must hold {@code expected} bytes (its page header says so). */
    static byte[] decompress(byte[] in, int from, int to, int expected) {
        ByteCursor c = new ByteCursor(in, from, to);
        long length = c.varint();
        if (length != expected) {
            throw new ParquetException("a snappy block announces " + length + " bytes where its page holds "
                    + expected);
        }
        byte[] out = new byte[(int) length];
        int o = 0;
        while (c.remaining() > 0) {
            int tag = c.u8();
            int kind = tag & 3;
            if (kind == 0) { // literal
                int n = tag >>> 2;
                if (n >= 60) {
                    int bytes = n - 59;
                    n = 0;
                    for (int i = 0; i < bytes; i++) {
                        n |= c.u8() << (8 * i);
                    }
                }
                n += 1;
                if (n > out.length - o || n > c.remaining()) {
                    throw new ParquetException("a snappy literal runs past the block");
                }
                System.arraycopy(c.data, c.skip(n), out, o, n);
                o += n;
                continue;
            }
            int n;
            int offset;
            if (kind == 1) {
                n = 4 + ((tag >>> 2) & 7);
                offset = ((tag >>> 5) << 8) | c.u8();
            } else if (kind == 2) {
                n = 1 + (tag >>> 2);
                offset = c.u8() | c.u8() << 8;
            } else {
                n = 1 + (tag >>> 2);
                offset = c.i32();
            }
            if (offset <= 0 || offset > o || n > out.length - o) {
                throw new ParquetException("a snappy back-reference points outside the block");
            }
            for (int i = 0; i < n; i++) { // byte by byte: the source may overlap what is being written
                out[o + i] = out[o - offset + i];
            }
            o += n;
        }
        if (o != out.length) {
            throw new ParquetException("a snappy block decompressed to " + o + " bytes, not the " + out.length
                    + " it announced");
        }
        return out;
    }
}

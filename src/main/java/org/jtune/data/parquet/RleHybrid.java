package org.jtune.data.parquet;

/**
 * Parquet's RLE / bit-packed hybrid encoding, used for definition and repetition levels, dictionary indices and
 * booleans: runs of one repeated value, and groups of 8 values packed least significant bit first.
 */
final class RleHybrid {
    private RleHybrid() {}

    /** Decodes {@code count} values of {@code bitWidth} bits from {@code in} (up to its end). */
    static int[] decode(ByteCursor in, int bitWidth, int count) {
        if (bitWidth < 0 || bitWidth > 32) {
            throw new ParquetException("bit width " + bitWidth + " of an RLE run is out of range");
        }
        int[] out = new int[count];
        int n = 0;
        int byteWidth = (bitWidth + 7) / 8;
        while (n < count) {
            long header = in.varint();
            if ((header & 1) == 0) {
                int run = (int) (header >>> 1);
                int value = 0;
                for (int i = 0; i < byteWidth; i++) {
                    value |= in.u8() << (8 * i);
                }
                int end = Math.min(count, n + run);
                java.util.Arrays.fill(out, n, end, value);
                n = end;
            } else {
                int values = (int) (header >>> 1) * 8;
                int bytes = (int) ((long) values * bitWidth / 8);
                int start = in.skip(Math.min(bytes, in.remaining()));
                n = unpack(in.data, start, bitWidth, out, n, Math.min(values, count - n));
            }
        }
        return out;
    }

    /** Unpacks {@code count} values of {@code bitWidth} bits, LSB first, from {@code data} at byte {@code start}. */
    static int unpack(byte[] data, int start, int bitWidth, int[] out, int at, int count) {
        long buffer = 0;
        int bits = 0;
        int p = start;
        long mask = bitWidth == 32 ? 0xffffffffL : (1L << bitWidth) - 1;
        for (int i = 0; i < count; i++) {
            while (bits < bitWidth) {
                buffer |= (long) (p < data.length ? data[p] & 0xff : 0) << bits;
                p++;
                bits += 8;
            }
            out[at++] = (int) (buffer & mask);
            buffer >>>= bitWidth;
            bits -= bitWidth;
        }
        return at;
    }

    /** The bits needed for values up to {@code max}. */
    static int bitWidth(int max) {
        return 32 - Integer.numberOfLeadingZeros(max);
    }
}

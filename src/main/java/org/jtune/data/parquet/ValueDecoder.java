package org.jtune.data.parquet;

import java.nio.charset.StandardCharsets;

/**
 * Decodes the values of a data page, in the encodings Hub datasets are written with: PLAIN, dictionary indices
 * (PLAIN_DICTIONARY, RLE_DICTIONARY), RLE booleans, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
 * and BYTE_STREAM_SPLIT. Values come out boxed: Boolean, Integer, Long, Float, Double, or byte[].
 */
final class ValueDecoder {
    static final int PLAIN = 0, PLAIN_DICTIONARY = 2, RLE = 3, DELTA_BINARY_PACKED = 5, DELTA_LENGTH_BYTE_ARRAY = 6,
            DELTA_BYTE_ARRAY = 7, RLE_DICTIONARY = 8, BYTE_STREAM_SPLIT = 9;

    private ValueDecoder() {}

    /**
     * {@code count} values of the column's type from {@code in}.
     *
     * @param dictionary the column chunk's dictionary, for dictionary-encoded pages
     */
    static Object[] decode(ByteCursor in, int encoding, SchemaNode column, int typeLength, int count,
                           Object[] dictionary) {
        return switch (encoding) {
            case PLAIN -> plain(in, column.physicalType(), typeLength, count);
            case PLAIN_DICTIONARY, RLE_DICTIONARY -> {
                if (dictionary == null) {
                    throw new ParquetException("column '" + column.name() + "': a dictionary-encoded page comes "
                            + "without a dictionary page");
                }
                int width = count == 0 ? 0 : in.u8();
                int[] indices = RleHybrid.decode(in, width, count);
                Object[] out = new Object[count];
                for (int i = 0; i < count; i++) {
                    if (indices[i] >= dictionary.length) {
                        throw new ParquetException("column '" + column.name() + "': dictionary index " + indices[i]
                                + " beyond its " + dictionary.length + " entries");
                    }
                    out[i] = dictionary[indices[i]];
                }
                yield out;
            }
            case RLE -> {
                if (column.physicalType() != SchemaNode.BOOLEAN) {
                    throw new ParquetException("column '" + column.name() + "': RLE values of a non-boolean column");
                }
                int length = in.i32();
                int[] bits = RleHybrid.decode(new ByteCursor(in.data, in.skip(length), in.pos), 1, count);
                Object[] out = new Object[count];
                for (int i = 0; i < count; i++) {
                    out[i] = bits[i] != 0;
                }
                yield out;
            }
            case DELTA_BINARY_PACKED -> {
                long[] v = deltaBinaryPacked(in, count);
                Object[] out = new Object[count];
                for (int i = 0; i < count; i++) {
                    out[i] = column.physicalType() == SchemaNode.INT32 ? (Object) (int) v[i] : (Object) v[i];
                }
                yield out;
            }
            case DELTA_LENGTH_BYTE_ARRAY -> deltaLengthByteArray(in, count);
            case DELTA_BYTE_ARRAY -> deltaByteArray(in, count);
            case BYTE_STREAM_SPLIT -> byteStreamSplit(in, column.physicalType(), typeLength, count);
            default -> throw new ParquetException("column '" + column.name() + "' uses encoding " + encoding
                    + ", which this reader does not have (it reads PLAIN, dictionary, RLE, DELTA_* and "
                    + "BYTE_STREAM_SPLIT)");
        };
    }

    static Object[] plain(ByteCursor in, int type, int typeLength, int count) {
        Object[] out = new Object[count];
        switch (type) {
            case SchemaNode.BOOLEAN -> {
                int[] bits = new int[count];
                int bytes = (count + 7) / 8;
                RleHybrid.unpack(in.data, in.skip(bytes), 1, bits, 0, count);
                for (int i = 0; i < count; i++) {
                    out[i] = bits[i] != 0;
                }
            }
            case SchemaNode.INT32 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = in.i32();
                }
            }
            case SchemaNode.INT64 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = in.i64();
                }
            }
            case SchemaNode.INT96 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = in.bytes(12);
                }
            }
            case SchemaNode.FLOAT -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat(in.i32());
                }
            }
            case SchemaNode.DOUBLE -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Double.longBitsToDouble(in.i64());
                }
            }
            case SchemaNode.BYTE_ARRAY -> {
                for (int i = 0; i < count; i++) {
                    out[i] = in.bytes(in.i32());
                }
            }
            case SchemaNode.FIXED_LEN_BYTE_ARRAY -> {
                for (int i = 0; i < count; i++) {
                    out[i] = in.bytes(typeLength);
                }
            }
            default -> throw new ParquetException("unknown physical type " + type);
        }
        return out;
    }

    /** DELTA_BINARY_PACKED: blocks of miniblocks of bit-packed deltas from a minimum delta. */
    static long[] deltaBinaryPacked(ByteCursor in, int count) {
        int blockSize = (int) in.varint();
        int miniblocks = (int) in.varint();
        int total = (int) in.varint();
        long value = in.zigzag();
        if (miniblocks <= 0 || blockSize % miniblocks != 0 || (blockSize / miniblocks) % 8 != 0) {
            throw new ParquetException("malformed DELTA_BINARY_PACKED header (block " + blockSize + ", miniblocks "
                    + miniblocks + ")");
        }
        int perMini = blockSize / miniblocks;
        long[] out = new long[Math.max(count, 0)];
        int n = 0;
        if (total > 0 && n < count) {
            out[n++] = value;
        }
        int[] packed = new int[perMini];
        long[] packedLong = new long[perMini];
        int read = 1;
        while (read < total) {
            long minDelta = in.zigzag();
            int[] widths = new int[miniblocks];
            for (int m = 0; m < miniblocks; m++) {
                widths[m] = in.u8();
            }
            for (int m = 0; m < miniblocks && read < total; m++) {
                int w = widths[m];
                int start = in.skip(Math.min(perMini * w / 8, in.remaining()));
                if (w <= 32) {
                    RleHybrid.unpack(in.data, start, w, packed, 0, perMini);
                    for (int i = 0; i < perMini; i++) {
                        packedLong[i] = packed[i] & 0xffffffffL;
                    }
                } else {
                    unpackLong(in.data, start, w, packedLong, perMini);
                }
                for (int i = 0; i < perMini && read < total; i++, read++) {
                    value += minDelta + packedLong[i];
                    if (n < count) {
                        out[n++] = value;
                    }
                }
            }
        }
        return out;
    }

    private static void unpackLong(byte[] data, int start, int width, long[] out, int count) {
        int bit = 0;
        for (int i = 0; i < count; i++) {
            long v = 0;
            for (int b = 0; b < width; b++, bit++) {
                int p = start + (bit >>> 3);
                long one = p < data.length ? (data[p] >>> (bit & 7)) & 1 : 0;
                v |= one << b;
            }
            out[i] = v;
        }
    }

    private static Object[] deltaLengthByteArray(ByteCursor in, int count) {
        long[] lengths = deltaBinaryPacked(in, count);
        Object[] out = new Object[count];
        for (int i = 0; i < count; i++) {
            out[i] = in.bytes(Math.toIntExact(lengths[i]));
        }
        return out;
    }

    private static Object[] deltaByteArray(ByteCursor in, int count) {
        long[] prefixes = deltaBinaryPacked(in, count);
        Object[] suffixes = deltaLengthByteArray(in, count);
        Object[] out = new Object[count];
        byte[] previous = new byte[0];
        for (int i = 0; i < count; i++) {
            byte[] suffix = (byte[]) suffixes[i];
            int prefix = (int) prefixes[i];
            if (prefix > previous.length) {
                throw new ParquetException("DELTA_BYTE_ARRAY prefix " + prefix + " longer than the previous value");
            }
            byte[] v = new byte[prefix + suffix.length];
            System.arraycopy(previous, 0, v, 0, prefix);
            System.arraycopy(suffix, 0, v, prefix, suffix.length);
            out[i] = v;
            previous = v;
        }
        return out;
    }

    private static Object[] byteStreamSplit(ByteCursor in, int type, int typeLength, int count) {
        int width = switch (type) {
            case SchemaNode.INT32, SchemaNode.FLOAT -> 4;
            case SchemaNode.INT64, SchemaNode.DOUBLE -> 8;
            case SchemaNode.FIXED_LEN_BYTE_ARRAY -> typeLength;
            default -> throw new ParquetException("BYTE_STREAM_SPLIT of physical type " + type);
        };
        int start = in.skip(width * count);
        byte[] joined = new byte[width * count];
        for (int i = 0; i < count; i++) {
            for (int b = 0; b < width; b++) {
                joined[i * width + b] = in.data[start + b * count + i];
            }
        }
        return plain(new ByteCursor(joined), type, typeLength, count);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}

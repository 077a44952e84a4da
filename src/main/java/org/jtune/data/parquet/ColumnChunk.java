package org.jtune.data.parquet;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;

/**
 * The values of one column in one row group, decoded from its pages: per entry a repetition level, a definition
 * level and, where the entry is defined to the column's full depth, a value. The record assembly reads the entries in
 * order through {@link #peekRep}, {@link #peekDef} and {@link #take}.
 */
final class ColumnChunk {
    private static final int DATA_PAGE = 0, DICTIONARY_PAGE = 2, DATA_PAGE_V2 = 3;

    final SchemaNode column;
    private int[] rep;
    private int[] def;
    private Object[] values;
    private int entries;
    private int valueCount;
    private int next;
    private int nextValue;

    private ColumnChunk(SchemaNode column, int expected) {
        this.column = column;
        int capacity = Math.max(16, expected);
        rep = new int[capacity];
        def = new int[capacity];
        values = new Object[capacity];
    }

    /** Reads and decodes the column chunk that {@code meta} (a ColumnMetaData) describes. */
    static ColumnChunk read(FileChannel file, SchemaNode column, ThriftCompact.Struct meta, int typeLength,
                            int maxPageBytes) throws IOException {
        long numValues = meta.integer(5);
        int codec = (int) meta.integer(4);
        PageCodec.check(codec, column.name());
        long dataOffset = meta.integer(9);
        long dictOffset = meta.integer(11, -1);
        long start = dictOffset > 0 && dictOffset < dataOffset ? dictOffset : dataOffset;
        long size = meta.integer(7);
        if (size > Integer.MAX_VALUE - 64 || numValues > Integer.MAX_VALUE - 64 || start < 0
                || start + size > file.size()) {
            throw new ParquetException("column '" + column.name() + "': a chunk of " + size + " bytes at " + start
                    + " does not fit the file (" + file.size() + " bytes)");
        }
        byte[] bytes = new byte[(int) size];
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long at = start;
        while (buffer.hasRemaining()) {
            int n = file.read(buffer, at);
            if (n < 0) {
                throw new ParquetException("the file ends inside column '" + column.name() + "'");
            }
            at += n;
        }
        ColumnChunk chunk = new ColumnChunk(column, (int) numValues);
        chunk.decode(new ByteCursor(bytes), codec, (int) numValues, typeLength, maxPageBytes);
        return chunk;
    }

    private void decode(ByteCursor in, int codec, int numValues, int typeLength, int maxPageBytes) {
        Object[] dictionary = null;
        while (entries < numValues) {
            if (in.remaining() == 0) {
                throw new ParquetException("column '" + column.name() + "' ends after " + entries + " of its "
                        + numValues + " values");
            }
            ThriftCompact.Struct header = new ThriftCompact(in).struct();
            int type = (int) header.integer(1);
            long uncompressedField = header.integer(2), compressedField = header.integer(3);
            if (uncompressedField < 0 || uncompressedField > maxPageBytes || compressedField < 0
                    || compressedField > in.remaining()) {
                throw new ParquetException("column '" + column.name() + "': a page announces " + uncompressedField
                        + " bytes (" + compressedField + " compressed); pages are read up to " + maxPageBytes
                        + " bytes (--max-data-bytes raises the cap) and within their column chunk");
            }
            int uncompressed = (int) uncompressedField;
            int compressed = (int) compressedField;
            int body = in.skip(compressed);
            switch (type) {
                case DICTIONARY_PAGE -> {
                    ThriftCompact.Struct d = header.struct(7);
                    byte[] page = PageCodec.decompress(codec, in.data, body, body + compressed, uncompressed);
                    dictionary = ValueDecoder.plain(new ByteCursor(page), column.physicalType(), typeLength,
                            (int) d.integer(1));
                }
                case DATA_PAGE -> {
                    ThriftCompact.Struct d = header.struct(5);
                    byte[] page = PageCodec.decompress(codec, in.data, body, body + compressed, uncompressed);
                    ByteCursor c = new ByteCursor(page);
                    int n = (int) d.integer(1);
                    int[] r = column.repLevel() > 0 ? levels(c, column.repLevel(), n, true) : new int[n];
                    int[] l = column.defLevel() > 0 ? levels(c, column.defLevel(), n, true) : new int[n];
                    addPage(r, l, c, (int) d.integer(2), typeLength, dictionary);
                }
                case DATA_PAGE_V2 -> {
                    ThriftCompact.Struct d = header.struct(8);
                    int n = (int) d.integer(1);
                    int repBytes = (int) d.integer(6);
                    int defBytes = (int) d.integer(5);
                    int[] r = column.repLevel() > 0
                            ? levels(new ByteCursor(in.data, body, body + repBytes), column.repLevel(), n, false)
                            : new int[n];
                    int[] l = column.defLevel() > 0
                            ? levels(new ByteCursor(in.data, body + repBytes, body + repBytes + defBytes),
                                    column.defLevel(), n, false)
                            : new int[n];
                    int valuesFrom = body + repBytes + defBytes;
                    int valuesSize = uncompressed - repBytes - defBytes;
                    byte[] page = d.bool(7, true)
                            ? PageCodec.decompress(codec, in.data, valuesFrom, body + compressed, valuesSize)
                            : Arrays.copyOfRange(in.data, valuesFrom, body + compressed);
                    addPage(r, l, new ByteCursor(page), (int) d.integer(4), typeLength, dictionary);
                }
                default -> { } // index pages and unknown pages carry no values
            }
        }
    }

    /** Levels of a page: RLE hybrid, behind a 4-byte length in version 1 pages. */
    private static int[] levels(ByteCursor c, int maxLevel, int n, boolean lengthPrefixed) {
        if (lengthPrefixed) {
            int length = c.i32();
            int start = c.skip(length);
            return RleHybrid.decode(new ByteCursor(c.data, start, start + length), RleHybrid.bitWidth(maxLevel), n);
        }
        return RleHybrid.decode(c, RleHybrid.bitWidth(maxLevel), n);
    }

    private void addPage(int[] r, int[] l, ByteCursor c, int encoding, int typeLength, Object[] dictionary) {
        int n = r.length;
        int defined = 0;
        for (int level : l) {
            if (level == column.defLevel()) {
                defined++;
            }
        }
        Object[] v = ValueDecoder.decode(c, encoding, column, typeLength, defined, dictionary);
        ensure(entries + n);
        System.arraycopy(r, 0, rep, entries, n);
        System.arraycopy(l, 0, def, entries, n);
        System.arraycopy(v, 0, values, valueCount, defined);
        entries += n;
        valueCount += defined;
    }

    private void ensure(int capacity) {
        if (capacity > rep.length) {
            int c = Math.max(capacity, rep.length * 2);
            rep = Arrays.copyOf(rep, c);
            def = Arrays.copyOf(def, c);
            values = Arrays.copyOf(values, c);
        }
    }

    boolean hasNext() {
        return next < entries;
    }

    int peekRep() {
        return next < entries ? rep[next] : 0;
    }

    int peekDef() {
        return def[next];
    }

    /** Consumes the next entry; its value where it is defined to the full depth, else null. */
    Object take() {
        if (next >= entries) {
            throw new ParquetException("column '" + column.name() + "' has fewer entries than its rows need");
        }
        boolean defined = def[next] == column.defLevel();
        next++;
        return defined ? values[nextValue++] : null;
    }
}

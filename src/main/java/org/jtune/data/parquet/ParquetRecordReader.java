package org.jtune.data.parquet;

import org.jtune.data.DatasetException;
import org.jtune.data.ReadLimits;
import org.jtune.data.JsonRecord;
import org.jtune.data.RecordLocation;
import org.jtune.data.RecordReader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the rows of a parquet file as JSON objects, one row group in memory at a time, in pure Java: no Hadoop, no
 * native code. It covers what Hub datasets are written with (pyarrow, DuckDB, polars): flat and nested columns
 * (lists, structs, maps), data pages version 1 and 2, dictionary and the other common encodings, snappy, gzip and
 * zstd pages. What it does not cover (another compression, encrypted files, columns in other files) is refused
 * with the name of the feature.
 */
public final class ParquetRecordReader implements RecordReader {
    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

    private final Path file;
    private final FileChannel channel;
    private final SchemaNode schema;
    private final List<SchemaNode> leaves = new ArrayList<>();
    private final List<ThriftCompact.Struct> rowGroups;
    private final List<Integer> typeLengths = new ArrayList<>();
    private int rowGroup = -1;
    private long rowsLeftInGroup;
    private long row;
    private RowAssembler assembler;
    private final int maxPageBytes;

    public ParquetRecordReader(Path file) {
        this(file, ReadLimits.DEFAULT);
    }

    /**
     * Reads {@code file}; a page may decompress to at most {@code limits.maxFileBytes()} bytes (and 2 GiB), so that
     * a header announcing more stops the reading with its reason rather than exhausting the memory.
     */
    public ParquetRecordReader(Path file, ReadLimits limits) {
        this.file = file;
        this.maxPageBytes = (int) Math.min(limits.maxFileBytes(), Integer.MAX_VALUE - 64);
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DatasetException(file + ": no such file");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            ThriftCompact.Struct footer = footer();
            List<ThriftCompact.Struct> elements = new ArrayList<>();
            for (Object e : footer.list(2)) {
                elements.add((ThriftCompact.Struct) e);
            }
            schema = SchemaNode.fromElements(elements);
            schema.collectLeaves(leaves);
            for (ThriftCompact.Struct e : elements) {
                if (e.has(1)) {
                    typeLengths.add((int) e.integer(2, 0));
                }
            }
            rowGroups = new ArrayList<>();
            for (Object g : footer.list(4)) {
                rowGroups.add((ThriftCompact.Struct) g);
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            if (e instanceof ParquetException p) {
                throw new ParquetException(file + ": " + p.getMessage());
            }
            throw e instanceof DatasetException d ? d : new DatasetException("cannot read " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /** Whether the file starts with parquet's magic bytes. */
    public static boolean isParquet(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return java.util.Arrays.equals(in.readNBytes(4), MAGIC);
        }
    }

    private ThriftCompact.Struct footer() throws IOException {
        long size = channel.size();
        if (size < 12) {
            throw new ParquetException("too short to be a parquet file (" + size + " bytes)");
        }
        ByteBuffer tail = ByteBuffer.allocate(8);
        channel.read(tail, size - 8);
        byte[] t = tail.array();
        byte[] magic = java.util.Arrays.copyOfRange(t, 4, 8);
        if (java.util.Arrays.equals(magic, "PARE".getBytes(StandardCharsets.US_ASCII))) {
            throw new ParquetException("the file is encrypted, which this reader does not read");
        }
        if (!java.util.Arrays.equals(magic, MAGIC) || !isParquet(file)) {
            throw new ParquetException("not a parquet file (it does not start and end with PAR1)");
        }
        int length = new ByteCursor(t, 0, 4).i32();
        if (length <= 0 || length > size - 12) {
            throw new ParquetException("the footer length " + length + " does not fit the file");
        }
        ByteBuffer footer = ByteBuffer.allocate(length);
        channel.read(footer, size - 8 - length);
        return new ThriftCompact(new ByteCursor(footer.array())).struct();
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public JsonRecord next() {
        try {
            while (rowsLeftInGroup == 0) {
                if (rowGroup + 1 >= rowGroups.size()) {
                    return null;
                }
                loadRowGroup(++rowGroup);
            }
            RecordLocation where = RecordLocation.row(file, row++);
            rowsLeftInGroup--;
            return new JsonRecord(where, assembler.next());
        } catch (ParquetException e) {
            throw new ParquetException(file + ", row group " + rowGroup + ": " + e.getMessage());
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private void loadRowGroup(int index) throws IOException {
        ThriftCompact.Struct group = rowGroups.get(index);
        List<Object> chunks = group.list(1);
        if (chunks.size() != leaves.size()) {
            throw new ParquetException("a row group has " + chunks.size() + " columns, the schema " + leaves.size());
        }
        ColumnChunk[] columns = new ColumnChunk[leaves.size()];
        for (int i = 0; i < columns.length; i++) {
            ThriftCompact.Struct chunk = (ThriftCompact.Struct) chunks.get(i);
            if (chunk.has(1)) {
                throw new ParquetException("column '" + leaves.get(i).name() + "' is stored in another file ("
                        + chunk.string(1) + "), which this reader does not follow");
            }
            ThriftCompact.Struct meta = chunk.struct(3);
            if (meta == null) {
                throw new ParquetException("column '" + leaves.get(i).name() + "' has no metadata");
            }
            columns[i] = ColumnChunk.read(channel, leaves.get(i), meta, typeLengths.get(i), maxPageBytes);
        }
        assembler = new RowAssembler(schema, columns);
        rowsLeftInGroup = group.integer(3);
    }

    private void closeQuietly() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing with a better message
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new DatasetException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}

package org.jtune.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.jtune.data.parquet.ParquetRecordReader;

/**
 * Opens a data file with the reader its kind needs: parquet (known by its magic bytes), CSV or TSV (by the name,
 * {@code .csv} / {@code .tsv} before any compression suffix), else JSON Lines or a JSON array. Text files may be
 * compressed (see {@link Compression}).
 */
public final class RecordReaders {
    private RecordReaders() {}

    public static RecordReader open(Path file) {
        return open(file, ReadLimits.DEFAULT);
    }

    /** As {@link #open(Path)}, within {@code limits} (line or row length, decompressed bytes, parquet pages). */
    public static RecordReader open(Path file, ReadLimits limits) {
        if (!Files.exists(file)) {
            throw new DatasetException(file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new DatasetException(file + " is a folder; give the data files in it");
        }
        if (!Files.isRegularFile(file)) {
            // A FIFO would block the first read until someone writes to it; a device may never end.
            throw new DatasetException(file + " is not a regular file (a FIFO or device), so it cannot be read as data");
        }
        try {
            if (ParquetRecordReader.isParquet(file) || textKind(file).equals("parquet")) {
                return new ParquetRecordReader(file, limits);
            }
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return switch (textKind(file)) {
            case "csv" -> new CsvRecordReader(file, ',', limits);
            case "tsv" -> new CsvRecordReader(file, '\t', limits);
            default -> new JsonRecordReader(file, limits);
        };
    }

    /** The extension before a compression suffix: {@code train.csv.gz} is "csv". */
    static String textKind(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String suffix : new String[] {".gz", ".bz2", ".xz", ".zst", ".zstd"}) {
            if (name.endsWith(suffix)) {
                name = name.substring(0, name.length() - suffix.length());
                break;
            }
        }
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1);
    }
}

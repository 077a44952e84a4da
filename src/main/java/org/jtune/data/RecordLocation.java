package org.jtune.data;

import java.nio.file.Path;

/**
 * Where a record comes from: a line of a JSON Lines or CSV file (1-based, blank lines counted), an element of a
 * JSON array file (0-based index) or a row of a parquet file (0-based).
 *
 * @param unit what {@code position} counts: "line", "array element" or "row"
 */
public record RecordLocation(Path file, long position, String unit) {
    public static RecordLocation line(Path file, long line) {
        return new RecordLocation(file, line, "line");
    }

    public static RecordLocation element(Path file, long index) {
        return new RecordLocation(file, index, "array element");
    }

    public static RecordLocation row(Path file, long index) {
        return new RecordLocation(file, index, "row");
    }

    @Override
    public String toString() {
        return file + ", " + unit + " " + position;
    }
}

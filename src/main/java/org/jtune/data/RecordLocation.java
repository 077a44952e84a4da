package org.jtune.data;

import java.nio.file.Path;

/**
 * Where a record comes from: a line of a JSON Lines file (1-based, blank lines counted) or an
 * element of a JSON array file (0-based index).
 */
public record RecordLocation(Path file, long position, boolean arrayElement) {
    public static RecordLocation line(Path file, long line) {
        return new RecordLocation(file, line, false);
    }

    public static RecordLocation element(Path file, long index) {
        return new RecordLocation(file, index, true);
    }

    @Override
    public String toString() {
        return arrayElement ? file + ", array element " + position : file + ", line " + position;
    }
}

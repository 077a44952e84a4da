package org.jtune.data;

import java.io.Closeable;
import java.nio.file.Path;

/** Streams the records of one data file as JSON values, with where each was read. */
public interface RecordReader extends Closeable {
    Path file();

    /** The next record, or null at the end of the file. */
    JsonRecord next();

    @Override
    void close();
}

package org.jtune.data.parquet;

import org.jtune.data.DatasetException;

/** A parquet file that cannot be read: malformed, or using a feature this reader does not have (named). */
public final class ParquetException extends DatasetException {
    public ParquetException(String message) {
        super(message);
    }
}

package org.jtune.data;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/** A decompressed stream that stops with a {@link DatasetException} once it has given more than its cap. */
final class CappedInputStream extends FilterInputStream {
    private final Path file;
    private final long cap;
    private long read;

    CappedInputStream(InputStream in, Path file, long cap) {
        super(in);
        this.file = file;
        this.cap = cap;
    }

    private void count(long n) {
        read += n;
        if (read > cap) {
            throw new DatasetException(file + ": more than " + cap + " bytes of data (after decompression); "
                    + "--max-data-bytes raises the cap");
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            count(1);
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            count(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long s = super.skip(n);
        count(s);
        return s;
    }
}

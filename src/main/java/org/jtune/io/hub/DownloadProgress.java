package org.jtune.io.hub;

/** Told about each file as it downloads: its size, what was already there from an interrupted download, each chunk. */
public interface DownloadProgress {
    /** Says nothing. */
    DownloadProgress SILENT = new DownloadProgress() {
        @Override
        public void start(String name, long total, long already) {}

        @Override
        public void advance(long bytes) {}

        @Override
        public void finish() {}
    };

    /**
     * @param total   the file's size in bytes
     * @param already bytes kept from an interrupted download, not downloaded again
     */
    void start(String name, long total, long already);

    void advance(long bytes);

    void finish();

    /** A line that is not about bytes (a fallback to the cache, a note); printed as it is by consoles. */
    default void note(String line) {}
}

package org.jtune.io.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One revision of a Hub repository, as a folder of the cache that fills as files are asked for: a file already
 * in the cache is used as it is, another is downloaded into the cache (online only). Offline, or where the Hub
 * could not be reached, the snapshot is the one the cache recorded for the revision, with the files it holds.
 */
public final class Snapshot {
    private final RepoId repo;
    private final String commit;
    private final List<String> files;
    private final HubCache cache;
    private final HubClient client;
    private final DownloadProgress progress;

    /** @param client null where the snapshot comes from the cache alone */
    Snapshot(RepoId repo, String commit, List<String> files, HubCache cache, HubClient client,
             DownloadProgress progress) {
        this.repo = repo;
        this.commit = commit;
        this.files = List.copyOf(files);
        this.cache = cache;
        this.client = client;
        this.progress = progress;
    }

    /** The files of a snapshot folder of the cache, as repository paths. */
    static List<String> filesIn(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> all = Files.walk(folder)) {
            return all.filter(Files::isRegularFile).map(p -> folder.relativize(p).toString().replace('\\', '/'))
                    .sorted().toList();
        }
    }

    public RepoId repo() {
        return repo;
    }

    public String commit() {
        return commit;
    }

    /** The repository's files at this revision (offline: those the cache holds). */
    public List<String> files() {
        return files;
    }

    public boolean online() {
        return client != null;
    }

    /** The folder of the snapshot: the files fetched so far, under their repository paths. */
    public Path folder() {
        return cache.snapshot(repo, commit);
    }

    /** The file, from the cache or downloaded into it. */
    public Path file(String path) throws IOException {
        Optional<Path> cached = cache.cachedFile(repo, commit, path);
        if (cached.isPresent()) {
            return cached.get();
        }
        if (client == null) {
            throw new HubException(path + " of " + repo.describe() + " is not in the cache (" + folder()
                    + ") and the Hub is not used (" + (HubDownloader.offlineReason()) + ")");
        }
        if (!files.contains(path)) {
            throw new HubException(repo.describe() + " has no file " + path);
        }
        FileMetadata meta = client.metadata(repo, commit, path);
        Path blob = cache.blob(repo, meta.etag());
        if (!Files.isRegularFile(blob) || Files.size(blob) != meta.size()) {
            fetchBlob(path, meta, blob);
        }
        return cache.link(repo, commit, path, meta.etag());
    }

    /** Downloads the blob under the cache's lock for it, so that two runs do not write one file at once. */
    private void fetchBlob(String path, FileMetadata meta, Path blob) throws IOException {
        Path lock = cache.lock(repo, meta.etag());
        Files.createDirectories(lock.getParent());
        try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            if (Files.isRegularFile(blob) && Files.size(blob) == meta.size()) {
                return; // another run fetched it while this one waited
            }
            Path incomplete = cache.incomplete(repo, meta.etag());
            client.download(repo, path, meta, incomplete, progress);
            Files.move(incomplete, blob, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}

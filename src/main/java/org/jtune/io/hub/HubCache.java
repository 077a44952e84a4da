package org.jtune.io.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The Hugging Face cache as huggingface_hub lays it out, one folder per repository:
 * <pre>
 * models--org--name/
 *   refs/main                      the commit the branch "main" pointed at when last asked
 *   blobs/ETAG                     each file's bytes, named by its ETag (the sha256 of large files)
 *   blobs/ETAG.incomplete          a download in progress, resumed where it stopped
 *   snapshots/COMMIT/PATH          a relative symbolic link to ../../blobs/ETAG, per file of that commit
 * </pre>
 * Files are shared by content across commits; a snapshot holds the files that were asked for, not the whole repo.
 */
public final class HubCache {
    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoFolder(RepoId repo) {
        return root.resolve(repo.cacheFolderName());
    }

    Path blob(RepoId repo, String etag) {
        return repoFolder(repo).resolve("blobs").resolve(etag);
    }

    Path incomplete(RepoId repo, String etag) {
        return repoFolder(repo).resolve("blobs").resolve(etag + ".incomplete");
    }

    /** The lock file huggingface_hub takes around a blob's download. */
    Path lock(RepoId repo, String etag) {
        return root.resolve(".locks").resolve(repo.cacheFolderName()).resolve(etag + ".lock");
    }

    public Path snapshot(RepoId repo, String commit) {
        return repoFolder(repo).resolve("snapshots").resolve(commit);
    }

    /** The commit the revision names: itself if it is a commit, else what the cache recorded for it, if anything. */
    public Optional<String> commitOf(RepoId repo) throws IOException {
        if (repo.revisionIsCommit()) {
            return Optional.of(repo.revision());
        }
        Path ref = repoFolder(repo).resolve("refs").resolve(repo.revision());
        return Files.isRegularFile(ref) ? Optional.of(Files.readString(ref).strip()) : Optional.empty();
    }

    /** Records which commit a branch or tag pointed at (nothing to record for a commit). */
    void writeRef(RepoId repo, String commit) throws IOException {
        if (repo.revisionIsCommit()) {
            return;
        }
        Path ref = repoFolder(repo).resolve("refs").resolve(repo.revision());
        if (Files.isRegularFile(ref) && Files.readString(ref).strip().equals(commit)) {
            return;
        }
        Files.createDirectories(ref.getParent());
        Path temporary = org.jtune.io.AtomicFiles.temporaryFile(ref.getParent(), "ref");
        Files.writeString(temporary, commit);
        Files.move(temporary, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The file of the snapshot, where it is there (a link to a present blob). */
    public Optional<Path> cachedFile(RepoId repo, String commit, String path) {
        Path file = snapshot(repo, commit).resolve(path);
        return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty(); // follows the link to the blob
    }

    /**
     * Puts the blob in the snapshot under {@code path}: a relative symbolic link, as huggingface_hub makes, or a
     * copy where the file system has no links.
     */
    Path link(RepoId repo, String commit, String path, String etag) throws IOException {
        Path pointer = snapshot(repo, commit).resolve(path);
        Path blob = blob(repo, etag);
        Files.createDirectories(pointer.getParent());
        Files.deleteIfExists(pointer);
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
        }
        return pointer;
    }
}

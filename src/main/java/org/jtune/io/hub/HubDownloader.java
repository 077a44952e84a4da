package org.jtune.io.hub;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Opens revisions of Hub repositories in the shared cache: asks the Hub which commit the revision is and which
 * files it has, unless offline ({@code HF_HUB_OFFLINE}); falls back to what the cache recorded where the Hub cannot be
 * reached, as huggingface_hub does.
 */
public final class HubDownloader {
    private final HubSettings settings;
    private final HubCache cache;
    private final HubClient client;
    private final DownloadProgress progress;

    public HubDownloader(HubSettings settings, DownloadProgress progress) {
        this(settings, new HubClient(settings), progress);
    }

    HubDownloader(HubSettings settings, HubClient client, DownloadProgress progress) {
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir());
        this.client = client;
        this.progress = progress;
    }

    static String offlineReason() {
        return "HF_HUB_OFFLINE is set, or the Hub could not be reached";
    }

    public HubCache cache() {
        return cache;
    }

    /** The revision as a snapshot that fetches what is asked for. */
    public Snapshot open(RepoId repo) throws IOException {
        if (settings.offline()) {
            return cached(repo).orElseThrow(() -> new HubException(repo.describe() + " is not in the Hugging Face "
                    + "cache (" + cache.repoFolder(repo) + ") and HF_HUB_OFFLINE is set: unset it to download "
                    + repo.id() + ", or set HF_HUB_CACHE / HF_HOME to the cache that holds it"));
        }
        RepoListing listing;
        try {
            listing = client.listing(repo);
        } catch (HubException e) {
            throw e;
        } catch (IOException e) {
            Optional<Snapshot> fallback = cached(repo);
            if (fallback.isEmpty()) {
                throw new HubException("cannot reach the Hub at " + settings.endpoint() + " ("
                        + HubClient.describe(e) + ") and " + repo.describe() + " is not in the cache ("
                        + cache.repoFolder(repo) + ")", e);
            }
            progress.note("cannot reach the Hub at " + settings.endpoint() + " (" + HubClient.describe(e)
                    + "): using the cached snapshot " + fallback.get().commit() + " of " + repo);
            return fallback.get();
        }
        cache.writeRef(repo, listing.commit());
        return new Snapshot(repo, listing.commit(), listing.files(), cache, client, progress);
    }

    /** The snapshot the cache recorded for the revision, with the files it holds; none where it recorded none. */
    Optional<Snapshot> cached(RepoId repo) throws IOException {
        Optional<String> commit = cache.commitOf(repo);
        if (commit.isEmpty()) {
            return Optional.empty();
        }
        List<String> files = Snapshot.filesIn(cache.snapshot(repo, commit.get()));
        if (files.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Snapshot(repo, commit.get(), files, cache, null, progress));
    }
}

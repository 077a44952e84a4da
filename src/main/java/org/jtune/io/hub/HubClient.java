package org.jtune.io.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The Hub's HTTP endpoints that downloads need, as huggingface_hub uses them: the repository listing
 * ({@code GET /api/models/ORG/NAME/revision/REV}), a file's metadata ({@code HEAD /ORG/NAME/resolve/REV/PATH},
 * relative redirects followed, the storage redirect not), and the file's bytes (resumed with {@code Range}, retried
 * when the connection breaks, checked against the size and, for large files, the sha256 in the ETag). The token
 * goes to the Hub's own host only, never to the storage host a redirect points to.
 */
final class HubClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 10;
    private static final int CHUNK = 1 << 20;

    private final HubSettings settings;
    private final HttpClient http;
    private final int attempts;
    private final Duration firstRetryWait;

    HubClient(HubSettings settings) {
        this(settings, 5, Duration.ofSeconds(1));
    }

    /**
     * @param attempts       tries of one download before giving up (each resumes where the last one broke off)
     * @param firstRetryWait the pause before the second try, doubled before each further one
     */
    HubClient(HubSettings settings, int attempts, Duration firstRetryWait) {
        this.settings = settings;
        this.attempts = attempts;
        this.firstRetryWait = firstRetryWait;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    /** The commit a revision points at and the repository's files there. */
    RepoListing listing(RepoId repo) throws IOException {
        URI uri = URI.create(settings.endpoint() + "/api/" + repo.kind().plural() + "/" + repo.id() + "/revision/"
                + encode(repo.revision(), false));
        HttpResponse<byte[]> response = send(request(uri).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw HubErrors.of(repo, null, response.statusCode(), response.headers(), settings);
        }
        JsonNode info;
        try {
            info = JSON.readTree(response.body());
        } catch (IOException e) {
            throw new HubException(uri + " answered with no readable listing: " + e.getMessage(), e);
        }
        JsonNode sha = info.get("sha");
        JsonNode siblings = info.get("siblings");
        if (sha == null || !sha.isTextual() || siblings == null || !siblings.isArray()) {
            throw new HubException(uri + " answered without the repository's commit and files (\"sha\", \"siblings\")");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : siblings) {
            if (s.hasNonNull("rfilename")) {
                files.add(s.get("rfilename").asText());
            }
        }
        return new RepoListing(sha.asText(), files);
    }

    /** The URL that serves a file of the repository at a revision (or commit). */
    URI resolveUrl(RepoId repo, String revision, String path) {
        return URI.create(settings.endpoint() + "/" + repo.kind().urlPrefix() + repo.id() + "/resolve/"
                + encode(revision, false) + "/" + encode(path, true));
    }

    /** A file's commit, ETag, size and download location, from the headers of its resolve URL. */
    FileMetadata metadata(RepoId repo, String revision, String path) throws IOException {
        URI uri = resolveUrl(repo, revision, path);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest head = request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("Accept-Encoding", "identity").build();
            HttpResponse<Void> r = send(head, HttpResponse.BodyHandlers.discarding());
            HttpHeaders h = r.headers();
            int status = r.statusCode();
            String location = h.firstValue("Location").orElse(null);
            boolean redirect = status >= 300 && status < 400 && location != null;
            if (redirect && !URI.create(location).isAbsolute()) {
                uri = uri.resolve(location); // a renamed repository: follow, as huggingface_hub does
                continue;
            }
            if (status >= 400 || (status >= 300 && !redirect)) {
                throw HubErrors.of(repo, path, status, h, settings);
            }
            String commit = h.firstValue("X-Repo-Commit").orElse(null);
            String etag = h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElse(null);
            long size = h.firstValueAsLong("X-Linked-Size").orElse(h.firstValueAsLong("Content-Length").orElse(-1));
            if (commit == null || etag == null || size < 0) {
                throw new HubException(uri + " answered without the headers a download needs (X-Repo-Commit, "
                        + "ETag, a size); is HF_ENDPOINT (" + settings.endpoint() + ") a Hugging Face Hub?");
            }
            return new FileMetadata(commit, FileMetadata.normalizeEtag(etag), size,
                    redirect ? uri.resolve(location) : uri);
        }
        throw new HubException(resolveUrl(repo, revision, path) + ": more than " + MAX_REDIRECTS + " redirects");
    }

    /**
     * Downloads {@code meta}'s bytes into {@code incomplete}, keeping and resuming what it already holds; retries a
     * broken connection from where it broke. On return the file has the size, and the sha256 where there is one,
     * that the metadata says; a file that does not is deleted and the call fails.
     */
    void download(RepoId repo, String path, FileMetadata meta, Path incomplete, DownloadProgress progress)
            throws IOException {
        Files.createDirectories(incomplete.getParent());
        long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
        if (have > meta.size()) {
            Files.delete(incomplete);
            have = 0;
        }
        MessageDigest digest = meta.sha256() == null ? null : sha256();
        if (digest != null && have > 0) {
            hashExisting(incomplete, digest);
        }
        progress.start(path, meta.size(), have);
        IOException last = null;
        Duration wait = firstRetryWait;
        try {
            for (int attempt = 0; attempt < attempts && have < meta.size(); attempt++) {
                if (attempt > 0) {
                    sleep(wait);
                    wait = wait.multipliedBy(2);
                }
                try {
                    have = fetchRange(repo, path, meta, incomplete, have, digest, progress);
                } catch (HubException e) {
                    throw e; // an answer of the Hub, not a broken connection: trying again will not help
                } catch (IOException e) {
                    last = e;
                    have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
                    if (digest != null && have == 0) {
                        digest.reset();
                    }
                }
            }
        } finally {
            progress.finish();
        }
        if (have < meta.size()) {
            throw new HubException(path + " of " + repo + ": the download broke off at " + have + " of " + meta.size()
                    + " bytes after " + attempts + " tries (" + describe(last) + "); run again: it resumes from there",
                    last);
        }
        verify(repo, path, meta, incomplete, digest);
    }

    /** One GET from byte {@code have} on; returns the bytes the file then holds. */
    private long fetchRange(RepoId repo, String path, FileMetadata meta, Path incomplete, long have,
                            MessageDigest digest, DownloadProgress progress) throws IOException {
        URI uri = meta.location();
        HttpResponse<InputStream> r = null;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(uri).GET().header("Accept-Encoding", "identity");
            if (have > 0) {
                b.header("Range", "bytes=" + have + "-");
            }
            r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            String location = r.headers().firstValue("Location").orElse(null);
            if (r.statusCode() >= 300 && r.statusCode() < 400 && location != null) {
                r.body().close();
                uri = uri.resolve(location);
                r = null;
                continue;
            }
            break;
        }
        if (r == null) {
            throw new HubException(meta.location() + ": more than " + MAX_REDIRECTS + " redirects");
        }
        int status = r.statusCode();
        try (InputStream body = r.body()) {
            if (status == 416 && have == meta.size()) {
                return have;
            }
            if (status != 200 && status != 206) {
                throw HubErrors.of(repo, path, status, r.headers(), settings);
            }
            if (status == 200 && have > 0) {
                // The server sent the whole file instead of the range asked for: start over.
                have = 0;
                if (digest != null) {
                    digest.reset();
                }
                progress.start(path, meta.size(), 0);
            }
            try (FileChannel out = FileChannel.open(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                out.truncate(have);
                out.position(have);
                byte[] chunk = new byte[CHUNK];
                int n;
                while ((n = body.read(chunk)) > 0) {
                    ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, n);
                    while (buffer.hasRemaining()) {
                        out.write(buffer);
                    }
                    if (digest != null) {
                        digest.update(chunk, 0, n);
                    }
                    have += n;
                    progress.advance(n);
                    if (have > meta.size()) {
                        break;
                    }
                }
            }
        }
        return have;
    }

    private static void verify(RepoId repo, String path, FileMetadata meta, Path incomplete, MessageDigest digest)
            throws IOException {
        long size = Files.size(incomplete);
        if (size != meta.size()) {
            Files.delete(incomplete);
            throw new HubException(path + " of " + repo + ": downloaded " + size + " bytes where the Hub announced "
                    + meta.size() + "; the download was deleted, run again");
        }
        if (digest != null) {
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equals(meta.sha256())) {
                Files.delete(incomplete);
                throw new HubException(path + " of " + repo + ": the downloaded bytes have sha256 " + got
                        + " but the Hub says " + meta.sha256() + "; the corrupt download was deleted, run again");
            }
        }
    }

    private static void hashExisting(Path file, MessageDigest digest) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] chunk = new byte[CHUNK];
            int n;
            while ((n = in.read(chunk)) > 0) {
                digest.update(chunk, 0, n);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A request with the token where it goes to the Hub's own host. */
    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .header("User-Agent", "jtune; java/" + Runtime.version().feature());
        if (settings.token() != null && Objects.equals(uri.getHost(), settings.endpoint().getHost())
                && uri.getPort() == settings.endpoint().getPort()) {
            b.header("Authorization", "Bearer " + settings.token());
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while talking to " + request.uri().getHost());
        }
    }

    private static void sleep(Duration d) throws java.io.InterruptedIOException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting to retry a download");
        }
    }

    static String describe(Throwable e) {
        if (e == null) {
            return "no cause given";
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** Percent-encodes a path (keeping its '/' where {@code keepSlash}) for a URL, as Python's quote does. */
    static String encode(String text, boolean keepSlash) {
        StringBuilder s = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || (keepSlash && c == '/')) {
                s.append((char) c);
            } else {
                s.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return s.toString();
    }
}

package org.jtune.io.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local stand-in for the Hugging Face Hub, serving what downloads use, with the Hub's headers: the listing
 * {@code GET /api/{models|datasets}/ORG/NAME/revision/REV}; {@code HEAD|GET [/datasets]/ORG/NAME/resolve/REV/PATH}
 * with {@code X-Repo-Commit} and {@code ETag} (the git blob id) for small files, and for large (LFS) files a 302 to
 * a second server (the "storage") with {@code X-Linked-Etag} (the sha256) and {@code X-Linked-Size}; the storage
 * serves {@code Range} requests. Refusals carry {@code X-Error-Code}. Faults can be injected: a connection cut
 * after some bytes, corrupt bytes.
 */
final class FakeHub implements AutoCloseable {
    /** A request as the servers saw it. */
    record Request(String server, String method, String path, String range, String authorization) {}

    /** One repository: its commit and files; gated ones serve files only to the tokens in {@code allowed}. */
    static final class Repo {
        final String kind;
        final String id;
        final String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final List<String> lfs = new ArrayList<>();
        boolean gated;
        final List<String> allowedTokens = new ArrayList<>();

        Repo(String kind, String id, String commit) {
            this.kind = kind;
            this.id = id;
            this.commit = commit;
        }

        Repo file(String path, byte[] content) {
            files.put(path, content);
            return this;
        }

        /** A file stored in LFS: served through the storage redirect, named by its sha256. */
        Repo largeFile(String path, byte[] content) {
            lfs.add(path);
            return file(path, content);
        }
    }

    private final HttpServer hub;
    private final HttpServer storage;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    /** Storage GETs of these sha256s are cut after the given number of bytes, as many times as the counter says. */
    private final Map<String, long[]> cuts = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> cutsLeft = new ConcurrentHashMap<>();
    /** Storage GETs of these sha256s serve other bytes than the hash says. */
    private final List<String> corrupt = Collections.synchronizedList(new ArrayList<>());

    FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        storage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::serveHub);
        storage.createContext("/", this::serveStorage);
        hub.start();
        storage.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    Repo add(Repo repo) {
        repos.put(repo.kind + "/" + repo.id, repo);
        for (String path : repo.lfs) {
            blobs.put(sha256(repo.files.get(path)), repo.files.get(path));
        }
        return repo;
    }

    /** The next {@code times} downloads of the file break off after {@code afterBytes} bytes. */
    void cut(byte[] content, long afterBytes, int times) {
        cuts.put(sha256(content), new long[] {afterBytes});
        cutsLeft.put(sha256(content), new AtomicInteger(times));
    }

    void corrupt(byte[] content) {
        corrupt.add(sha256(content));
    }

    List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /** Requests for files (resolve URLs and storage), not listings. */
    List<Request> fileRequests() {
        return requests().stream().filter(r -> !r.path().startsWith("/api/")).toList();
    }

    void clearRequests() {
        requests.clear();
    }

    private void record(String server, HttpExchange ex) {
        requests.add(new Request(server, ex.getRequestMethod(), ex.getRequestURI().getRawPath(),
                ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
    }

    private void serveHub(HttpExchange ex) throws IOException {
        try (ex) {
            record("hub", ex);
            String path = ex.getRequestURI().getRawPath();
            if (path.startsWith("/api/")) {
                listing(ex, path.substring("/api/".length()));
            } else {
                resolve(ex, path.substring(1));
            }
        }
    }

    /** {@code models/ORG/NAME/revision/REV} */
    private void listing(HttpExchange ex, String rest) throws IOException {
        String[] p = rest.split("/");
        Repo repo = repos.get(singular(p[0]) + "/" + p[1] + "/" + p[2]);
        if (repo == null) {
            refuse(ex, 401, "RepoNotFound", "Repository not found");
            return;
        }
        String revision = decode(p[4]);
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            refuse(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode info = json.createObjectNode();
        info.put("id", repo.id);
        info.put("sha", repo.commit);
        info.put("gated", repo.gated ? "manual" : "false");
        ArrayNode siblings = info.putArray("siblings");
        repo.files.keySet().forEach(f -> siblings.addObject().put("rfilename", f));
        send(ex, 200, json.writeValueAsBytes(info));
    }

    /** {@code [datasets/]ORG/NAME/resolve/REV/PATH} */
    private void resolve(HttpExchange ex, String rest) throws IOException {
        String kind = "model";
        if (rest.startsWith("datasets/")) {
            kind = "dataset";
            rest = rest.substring("datasets/".length());
        }
        String[] p = rest.split("/", 5);
        Repo repo = p.length == 5 && p[2].equals("resolve") ? repos.get(kind + "/" + p[0] + "/" + p[1]) : null;
        if (repo == null) {
            refuse(ex, 401, "RepoNotFound", "Repository not found");
            return;
        }
        String revision = decode(p[3]);
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            refuse(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        if (repo.gated) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            boolean allowed = auth != null && repo.allowedTokens.contains(auth.substring("Bearer ".length()));
            if (!allowed) {
                refuse(ex, auth == null ? 401 : 403, "GatedRepo", "Access to model " + repo.id
                        + " is restricted. You must have access to it and be authenticated to access it.");
                return;
            }
        }
        String file = decode(p[4]);
        byte[] content = repo.files.get(file);
        if (content == null) {
            refuse(ex, 404, "EntryNotFound", "Entry not found");
            return;
        }
        ex.getResponseHeaders().add("X-Repo-Commit", repo.commit);
        if (repo.lfs.contains(file)) {
            String sha = sha256(content);
            ex.getResponseHeaders().add("ETag", "\"" + gitBlobId(("version https://git-lfs.github.com/spec/v1\noid "
                    + "sha256:" + sha + "\nsize " + content.length + "\n").getBytes(StandardCharsets.UTF_8)) + "\"");
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", String.valueOf(content.length));
            ex.getResponseHeaders().add("Location", "http://127.0.0.1:" + storage.getAddress().getPort() + "/lfs/"
                    + sha + "?signature=x");
            ex.sendResponseHeaders(302, -1);
            return;
        }
        ex.getResponseHeaders().add("ETag", "\"" + gitBlobId(content) + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", String.valueOf(content.length));
            ex.sendResponseHeaders(200, -1);
        } else {
            send(ex, 200, content);
        }
    }

    private void serveStorage(HttpExchange ex) throws IOException {
        try (ex) {
            record("storage", ex);
            String sha = ex.getRequestURI().getRawPath().substring("/lfs/".length());
            byte[] content = blobs.get(sha);
            if (content == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            if (corrupt.contains(sha)) {
                content = content.clone();
                content[content.length / 2] ^= 0x55;
            }
            long from = 0;
            String range = ex.getRequestHeaders().getFirst("Range");
            if (range != null) {
                from = Long.parseLong(range.substring("bytes=".length(), range.indexOf('-')));
                if (from >= content.length) {
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/"
                        + content.length);
            }
            int length = content.length - (int) from;
            ex.sendResponseHeaders(range != null ? 206 : 200, length);
            AtomicInteger left = cutsLeft.get(sha);
            OutputStream body = ex.getResponseBody();
            if (left != null && left.getAndDecrement() > 0) {
                long cutAt = Math.max(from, cuts.get(sha)[0]);
                body.write(content, (int) from, (int) (cutAt - from));
                body.flush();
                // Close the connection with bytes still owed: the client sees the transfer break off.
                throw new IOException("cut");
            }
            body.write(content, (int) from, length);
        }
    }

    private static void refuse(HttpExchange ex, int status, String code, String message) throws IOException {
        ex.getResponseHeaders().add("X-Error-Code", code);
        ex.getResponseHeaders().add("X-Error-Message", message);
        send(ex, status, ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    private static String singular(String plural) {
        return plural.substring(0, plural.length() - 1);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** git's object id of a blob: sha1 over "blob SIZE\0" and the bytes, as the Hub's ETag of a small file. */
    static String gitBlobId(byte[] content) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(sha1.digest(content));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        storage.stop(0);
    }
}

package org.jtune.io.hub;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * What the Hub says about one file before it is downloaded (the headers of its resolve URL).
 *
 * @param commit   the commit the revision resolved to ({@code X-Repo-Commit})
 * @param etag     the content's id ({@code X-Linked-Etag} for large files, else {@code ETag}), quotes removed: the
 *                 sha256 of the content for large (LFS) files, a git object id for small ones
 * @param size     bytes ({@code X-Linked-Size}, else {@code Content-Length})
 * @param location where the bytes are (a storage URL for large files, else the resolve URL itself)
 */
record FileMetadata(String commit, String etag, long size, URI location) {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** The sha256 the content must have, where the ETag is one (large files); null otherwise. */
    String sha256() {
        return SHA256.matcher(etag).matches() ? etag : null;
    }

    /** An ETag header as huggingface_hub names blobs by it: without a weak marker and quotes. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }
}

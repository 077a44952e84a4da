package org.jtune.io.hub;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A repository on the Hugging Face Hub, {@code org/name}, of a kind (model or dataset), at a revision (a branch, a
 * tag or a commit; {@code main} unless named), written {@code org/name@revision}.
 */
public record RepoId(Kind kind, String id, String revision) {
    /** What a repository holds; the Hub's URLs and the cache's folder names differ by kind. */
    public enum Kind {
        MODEL("models", ""), DATASET("datasets", "datasets/");

        private final String plural;
        private final String urlPrefix;

        Kind(String plural, String urlPrefix) {
            this.plural = plural;
            this.urlPrefix = urlPrefix;
        }

        /** {@code models} or {@code datasets}: the API path segment and the cache folder prefix. */
        public String plural() {
            return plural;
        }

        /** What comes before {@code org/name} in a file URL: nothing for models, {@code datasets/} for datasets. */
        String urlPrefix() {
            return urlPrefix;
        }

        String singular() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final String DEFAULT_REVISION = "main";

    /** huggingface_hub's rule for repository ids: an owner and a name of letters, digits, '-', '_' and '.'. */
    private static final Pattern ID = Pattern.compile("[\\w.-]{1,96}/[\\w.-]{1,96}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public RepoId {
        if (!looksLikeId(id)) {
            throw new IllegalArgumentException("'" + id + "' is not a Hub repository id (owner/name)");
        }
        if (revision == null || revision.isBlank() || revision.contains("..")) {
            throw new IllegalArgumentException("'" + revision + "' is not a revision of " + id);
        }
    }

    /** Whether {@code text} has the shape of {@code org/name} or {@code org/name@revision}. */
    public static boolean looksLikeRepo(String text) {
        int at = text.indexOf('@');
        return looksLikeId(at < 0 ? text : text.substring(0, at)) && (at < 0 || at < text.length() - 1);
    }

    private static boolean looksLikeId(String id) {
        return id != null && ID.matcher(id).matches() && !id.contains("--") && !id.contains("..")
                && !id.startsWith(".") && !id.endsWith(".");
    }

    /** {@code org/name} or {@code org/name@revision}. */
    public static RepoId parse(Kind kind, String text) {
        int at = text.indexOf('@');
        return at < 0 ? new RepoId(kind, text, DEFAULT_REVISION)
                : new RepoId(kind, text.substring(0, at), text.substring(at + 1));
    }

    /** Whether the revision is a full commit hash (it then names a snapshot by itself). */
    public boolean revisionIsCommit() {
        return COMMIT.matcher(revision).matches();
    }

    /** The cache's folder name: {@code models--org--name}. */
    public String cacheFolderName() {
        return kind.plural() + "--" + id.replace("/", "--");
    }

    /** How messages name it: {@code model org/name} or {@code dataset org/name@rev}. */
    public String describe() {
        return kind.singular() + " " + this;
    }

    @Override
    public String toString() {
        return revision.equals(DEFAULT_REVISION) ? id : id + "@" + revision;
    }
}

package org.jtune.io.hub;

import java.net.http.HttpHeaders;

/**
 * Turns a refusal of the Hub into a message that says what to do. The Hub names the reason in {@code X-Error-Code}
 * ({@code GatedRepo}, {@code RepoNotFound}, {@code RevisionNotFound}, {@code EntryNotFound}) and explains it in
 * {@code X-Error-Message}.
 */
final class HubErrors {
    private HubErrors() {}

    /** @param path the file asked for, or null for the repository listing */
    static HubException of(RepoId repo, String path, int status, HttpHeaders headers, HubSettings settings) {
        String code = headers.firstValue("X-Error-Code").orElse("");
        String hubSays = headers.firstValue("X-Error-Message").map(m -> " (the Hub says: " + m + ")").orElse("");
        String page = settings.endpoint() + "/" + repo.kind().urlPrefix() + repo.id();
        String tokens = settings.endpoint() + "/settings/tokens";
        String what = path == null ? repo.describe() : path + " of " + repo.describe();
        if (code.equals("GatedRepo") || ((status == 401 || status == 403) && hubSays.contains("gated"))) {
            return new HubException(repo.describe() + " is gated: its authors ask each user to accept their "
                    + "conditions first. Open " + page + " while logged in and accept them, then "
                    + (settings.token() == null
                        ? "create an access token at " + tokens + " and set HF_TOKEN to it (no token is set now)"
                        : "run again with the token of that account (the token set now has no access yet; "
                          + "access is granted at once or after the authors' review)")
                    + hubSays);
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(repo.id() + " has no revision '" + repo.revision() + "' (a branch, tag or commit)"
                    + hubSays);
        }
        if (code.equals("EntryNotFound")) {
            return new HubException(what + ": no such file in the repository" + hubSays);
        }
        if (code.equals("RepoNotFound") || status == 404) {
            return new HubException("the Hub has no " + repo.describe() + (settings.token() == null
                    ? ", or it is private: for a private repository set HF_TOKEN to an access token (" + tokens + ")"
                    : " that this token can see (check the name, and that the token's account has access)") + hubSays);
        }
        if (status == 401) {
            return new HubException(what + ": the Hub refused the request (401 Unauthorized): "
                    + (settings.token() == null ? "it needs an access token; create one at " + tokens
                            + " and set HF_TOKEN to it"
                            : "the token set (HF_TOKEN or the saved login) is invalid or expired; create a new one at "
                            + tokens) + hubSays);
        }
        if (status == 403) {
            return new HubException(what + ": access denied (403 Forbidden): the token's account has no read access "
                    + "to " + page + hubSays);
        }
        if (status == 429) {
            return new HubException(what + ": the Hub limits requests (429 Too Many Requests); wait a while"
                    + (settings.token() == null ? ", or set HF_TOKEN (logged-in users get higher limits)" : "")
                    + hubSays);
        }
        return new HubException(what + ": the Hub answered HTTP " + status
                + (status >= 500 ? " (a server error: try again later)" : "") + hubSays);
    }
}

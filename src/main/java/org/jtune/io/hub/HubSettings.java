package org.jtune.io.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where the Hub is and how to talk to it, read from the environment variables huggingface_hub reads, so that
 * Python and Java share one cache and one login:
 * <ul>
 * <li>cache: {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, where
 *     {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface} or {@code ~/.cache/huggingface};</li>
 * <li>token: {@code HF_TOKEN}, else {@code HUGGING_FACE_HUB_TOKEN}, else the file {@code HF_TOKEN_PATH} or
 *     {@code $HF_HOME/token} (what {@code hf auth login} writes);</li>
 * <li>endpoint: {@code HF_ENDPOINT}, else the public Hub;</li>
 * <li>offline: {@code HF_HUB_OFFLINE} set to 1, true, yes or on: the cache only, no request.</li>
 * </ul>
 * Java system properties of the same names ({@code -DHF_HUB_OFFLINE=1}) win over the environment, for programs that
 * cannot set their own environment.
 *
 * @param token the access token, or null for anonymous requests
 */
public record HubSettings(Path cacheDir, URI endpoint, String token, boolean offline) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE = Set.of("1", "true", "yes", "on");

    public HubSettings {
        String e = endpoint.toString();
        if (e.endsWith("/")) {
            endpoint = URI.create(e.substring(0, e.length() - 1));
        }
        if (token != null && token.isBlank()) {
            token = null;
        }
    }

    /** The variables huggingface_hub reads. */
    private static final List<String> VARIABLES = List.of("HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
            "HF_HUB_OFFLINE");

    /** The settings of this process's environment, with system properties of the same names winning. */
    public static HubSettings fromEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        for (String name : VARIABLES) {
            String property = System.getProperty(name);
            if (property != null) {
                env.put(name, property);
            }
        }
        return fromEnvironment(env, Path.of(System.getProperty("user.home")));
    }

    /** The settings an environment gives, with {@code home} as the user's home folder. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        Path hfHome = env.containsKey("HF_HOME") ? Path.of(env.get("HF_HOME"))
                : (env.containsKey("XDG_CACHE_HOME") ? Path.of(env.get("XDG_CACHE_HOME")) : home.resolve(".cache"))
                        .resolve("huggingface");
        Path cache = env.containsKey("HF_HUB_CACHE") ? Path.of(env.get("HF_HUB_CACHE"))
                : env.containsKey("HUGGINGFACE_HUB_CACHE") ? Path.of(env.get("HUGGINGFACE_HUB_CACHE"))
                : hfHome.resolve("hub");
        String token = env.getOrDefault("HF_TOKEN", env.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            token = tokenFile(env.containsKey("HF_TOKEN_PATH") ? Path.of(env.get("HF_TOKEN_PATH"))
                    : hfHome.resolve("token"));
        }
        String endpoint = env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT);
        boolean offline = TRUE.contains(env.getOrDefault("HF_HUB_OFFLINE", "").strip().toLowerCase(Locale.ROOT));
        return new HubSettings(cache, URI.create(endpoint), token, offline);
    }

    private static String tokenFile(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.readString(file).strip() : null;
        } catch (IOException e) {
            return null; // an unreadable token file is as no token: requests go anonymous
        }
    }

    public HubSettings withOffline(boolean off) {
        return new HubSettings(cacheDir, endpoint, token, off);
    }

    public HubSettings withToken(String t) {
        return new HubSettings(cacheDir, endpoint, t, offline);
    }
}

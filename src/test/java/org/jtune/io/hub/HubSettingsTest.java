package org.jtune.io.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The environment variables huggingface_hub reads, read the same way; repository ids and cache folder names. */
class HubSettingsTest {
    @TempDir
    Path home;

    @Test
    void theCacheFolderFollowsHuggingfaceHubsPrecedence() {
        assertEquals(home.resolve(".cache/huggingface/hub"), HubSettings.fromEnvironment(Map.of(), home).cacheDir());
        assertEquals(Path.of("/x/huggingface/hub"),
                HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x"), home).cacheDir());
        assertEquals(Path.of("/h/hub"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/h", "XDG_CACHE_HOME", "/x"),
                home).cacheDir());
        assertEquals(Path.of("/old"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/h",
                "HUGGINGFACE_HUB_CACHE", "/old"), home).cacheDir());
        assertEquals(Path.of("/c"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/h", "HUGGINGFACE_HUB_CACHE", "/old",
                "HF_HUB_CACHE", "/c"), home).cacheDir());
    }

    @Test
    void theTokenComesFromTheEnvironmentOrTheSavedLogin() throws IOException {
        assertNull(HubSettings.fromEnvironment(Map.of(), home).token());
        Files.createDirectories(home.resolve(".cache/huggingface"));
        Files.writeString(home.resolve(".cache/huggingface/token"), "hf_saved\n");
        assertEquals("hf_saved", HubSettings.fromEnvironment(Map.of(), home).token());
        assertEquals("hf_old", HubSettings.fromEnvironment(Map.of("HUGGING_FACE_HUB_TOKEN", "hf_old"), home).token());
        assertEquals("hf_env", HubSettings.fromEnvironment(Map.of("HF_TOKEN", "hf_env",
                "HUGGING_FACE_HUB_TOKEN", "hf_old"), home).token());
        Files.writeString(home.resolve("elsewhere"), "hf_path");
        assertEquals("hf_path", HubSettings.fromEnvironment(Map.of("HF_TOKEN_PATH", home.resolve("elsewhere")
                .toString()), home).token());
    }

    @Test
    void endpointAndOfflineMode() {
        HubSettings d = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals(URI.create(HubSettings.DEFAULT_ENDPOINT), d.endpoint());
        assertFalse(d.offline());
        assertEquals(URI.create("http://mirror:8080"), HubSettings.fromEnvironment(Map.of("HF_ENDPOINT",
                "http://mirror:8080/"), home).endpoint());
        for (String on : new String[] {"1", "true", "YES", "On"}) {
            assertTrue(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", on), home).offline(), on);
        }
        assertFalse(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"), home).offline());
    }

    @Test
    void repositoryIdsAndTheirCacheFolders() {
        RepoId m = RepoId.parse(RepoId.Kind.MODEL, "unsloth/Llama-3.2-1B-Instruct");
        assertEquals("main", m.revision());
        assertEquals("models--unsloth--Llama-3.2-1B-Instruct", m.cacheFolderName());
        RepoId d = RepoId.parse(RepoId.Kind.DATASET, "trl-lib/ultrafeedback_binarized@refs/convert/parquet");
        assertEquals("refs/convert/parquet", d.revision());
        assertEquals("datasets--trl-lib--ultrafeedback_binarized", d.cacheFolderName());
        assertTrue(RepoId.looksLikeRepo("org/name@v1.0"));
        for (String notId : new String[] {"model", "a/b/c", "./x", "../x", "a--b/c", "/abs/path", "org/name@", "a b/c"}) {
            assertFalse(RepoId.looksLikeRepo(notId), notId);
        }
        assertThrows(IllegalArgumentException.class, () -> RepoId.parse(RepoId.Kind.MODEL, "x"));
        assertEquals("refs%2Fpr%2F1", HubClient.encode("refs/pr/1", false));
        assertEquals("data/train%20set/a%2Bb.parquet", HubClient.encode("data/train set/a+b.parquet", true));
    }
}

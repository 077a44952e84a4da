package org.jtune.io.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models by Hub id against a local server with the Hub's endpoints and headers, into a cache laid out as Python's. */
class HubModelsTest {
    private static final String ID = "acme/tiny-llama";

    @TempDir
    Path temp;
    private FakeHub server;
    private FakeHub.Repo repo;
    private final Random random = new Random(System.nanoTime());
    private byte[] shard1;
    private byte[] shard2;
    private byte[] config;

    @BeforeEach
    void setUp() throws IOException {
        server = new FakeHub();
        shard1 = bytes(300_000 + random.nextInt(1000));
        shard2 = bytes(200_000 + random.nextInt(1000));
        config = ("{\"architectures\": [\"LlamaForCausalLM\"], \"seed\": " + random.nextLong() + "}")
                .getBytes(StandardCharsets.UTF_8);
        repo = new FakeHub.Repo("model", ID, hex(40))
                .file("config.json", config)
                .file("tokenizer.json", bytes(5000))
                .file("tokenizer_config.json", "{}".getBytes(StandardCharsets.UTF_8))
                .file("README.md", bytes(100))
                .file("model.safetensors.index.json", ("{\"metadata\": {}, \"weight_map\": {\"a\": "
                        + "\"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\", "
                        + "\"c\": \"model-00001-of-00002.safetensors\"}}").getBytes(StandardCharsets.UTF_8))
                .largeFile("model-00001-of-00002.safetensors", shard1)
                .largeFile("model-00002-of-00002.safetensors", shard2)
                .largeFile("pytorch_model.bin", bytes(1000))
                .largeFile("original/consolidated.00.pth", bytes(1000));
        server.add(repo);
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private String hex(int digits) {
        return HexFormat.of().formatHex(bytes(digits / 2));
    }

    private HubSettings settings(String token, boolean offline) {
        return new HubSettings(temp.resolve("cache"), server.endpoint(), token, offline);
    }

    private Path fetch(HubSettings settings, DownloadProgress progress) throws IOException {
        HubClient client = new HubClient(settings, 3, Duration.ofMillis(1));
        return HubModels.fetch(RepoId.parse(RepoId.Kind.MODEL, ID), new HubDownloader(settings, client, progress));
    }

    private Path fetch(HubSettings settings) throws IOException {
        return fetch(settings, DownloadProgress.SILENT);
    }

    @Test
    void downloadsTheFilesAModelNeedsIntoTheCacheAsPythonLaysItOut() throws IOException {
        Path folder = fetch(settings(null, false));

        Path repoFolder = temp.resolve("cache/models--acme--tiny-llama");
        assertEquals(repoFolder.resolve("snapshots").resolve(repo.commit), folder);
        assertEquals(repo.commit, Files.readString(repoFolder.resolve("refs/main")));
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json",
                "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            Path p = folder.resolve(f);
            assertTrue(Files.isSymbolicLink(p), f);
            assertArrayEquals(repo.files.get(f), Files.readAllBytes(p), f);
            String blob = repo.lfs.contains(f) ? FakeHub.sha256(repo.files.get(f)) : FakeHub.gitBlobId(repo.files.get(f));
            assertEquals(Path.of("../../blobs").resolve(blob), Files.readSymbolicLink(p), f);
        }
        for (String f : List.of("README.md", "pytorch_model.bin", "original/consolidated.00.pth")) {
            assertFalse(Files.exists(folder.resolve(f)), f);
            assertTrue(server.fileRequests().stream().noneMatch(r -> r.path().endsWith(f)), f + " was asked for");
        }
        try (var blobs = Files.list(repoFolder.resolve("blobs"))) {
            assertTrue(blobs.noneMatch(b -> b.toString().endsWith(".incomplete")));
        }

        // A second run finds everything in the cache: it lists the revision and fetches nothing.
        server.clearRequests();
        assertEquals(folder, fetch(settings(null, false)));
        assertEquals(List.of(), server.fileRequests());
    }

    @Test
    void resumesADownloadThatBrokeOffFromWhereItStopped() throws IOException {
        long cutAt = shard1.length / 3 + random.nextInt(1000);
        server.cut(shard1, cutAt, 1);
        List<long[]> starts = new ArrayList<>();
        DownloadProgress progress = new DownloadProgress() {
            @Override
            public void start(String name, long total, long already) {
                starts.add(new long[] {total, already});
            }

            @Override
            public void advance(long bytes) {}

            @Override
            public void finish() {}
        };
        Path folder = fetch(settings(null, false), progress);

        assertArrayEquals(shard1, Files.readAllBytes(folder.resolve("model-00001-of-00002.safetensors")));
        List<FakeHub.Request> storage = server.requests().stream()
                .filter(r -> r.server().equals("storage") && r.path().endsWith(FakeHub.sha256(shard1))).toList();
        assertEquals(2, storage.size(), storage.toString());
        assertNull(storage.get(0).range());
        assertEquals("bytes=" + cutAt + "-", storage.get(1).range());
        assertTrue(starts.stream().anyMatch(s -> s[0] == shard1.length && s[1] == 0));
    }

    @Test
    void resumesThePartialFileAnEarlierRunLeft() throws IOException {
        // A run that stopped (killed, or out of tries) leaves blobs/SHA.incomplete: the next run goes on from it.
        int kept = shard2.length / 2 + random.nextInt(1000);
        Path incomplete = temp.resolve("cache/models--acme--tiny-llama/blobs/" + FakeHub.sha256(shard2) + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, java.util.Arrays.copyOf(shard2, kept));

        Path folder = fetch(settings(null, false));

        assertArrayEquals(shard2, Files.readAllBytes(folder.resolve("model-00002-of-00002.safetensors")));
        List<FakeHub.Request> storage = server.requests().stream()
                .filter(r -> r.server().equals("storage") && r.path().endsWith(FakeHub.sha256(shard2))).toList();
        assertEquals(1, storage.size());
        assertEquals("bytes=" + kept + "-", storage.get(0).range());
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void aDownloadThatKeepsBreakingStopsAndKeepsWhatItHas() throws IOException {
        long cutAt = shard1.length / 4;
        server.cut(shard1, cutAt, 10);
        HubException e = assertThrows(HubException.class, () -> fetch(settings(null, false)));
        assertTrue(e.getMessage().contains("broke off at " + cutAt + " of " + shard1.length), e.getMessage());
        assertTrue(e.getMessage().contains("run again"), e.getMessage());
        Path incomplete = temp.resolve("cache/models--acme--tiny-llama/blobs/" + FakeHub.sha256(shard1) + ".incomplete");
        assertEquals(cutAt, Files.size(incomplete));
    }

    @Test
    void refusesBytesWhoseSha256IsNotTheOneTheHubAnnounced() throws IOException {
        server.corrupt(shard2);
        HubException e = assertThrows(HubException.class, () -> fetch(settings(null, false)));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        Path blobs = temp.resolve("cache/models--acme--tiny-llama/blobs");
        assertFalse(Files.exists(blobs.resolve(FakeHub.sha256(shard2))));
        assertFalse(Files.exists(blobs.resolve(FakeHub.sha256(shard2) + ".incomplete")));
        assertFalse(Files.exists(temp.resolve("cache/models--acme--tiny-llama/snapshots/" + repo.commit
                + "/model-00002-of-00002.safetensors")));
    }

    @Test
    void offlineUsesTheCacheAndAsksNothing() throws IOException {
        Path online = fetch(settings(null, false));
        server.clearRequests();

        assertEquals(online, fetch(settings(null, true)));
        assertEquals(List.of(), server.requests());

        HubSettings empty = new HubSettings(temp.resolve("empty-cache"), server.endpoint(), null, true);
        HubException e = assertThrows(HubException.class, () -> fetch(empty));
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE"), e.getMessage());
        assertTrue(e.getMessage().contains("not in the Hugging Face cache"), e.getMessage());
        assertEquals(List.of(), server.requests());
    }

    @Test
    void offlineRefusesASnapshotThatMissesAShard() throws IOException {
        Path online = fetch(settings(null, false));
        Files.delete(online.resolve("model-00002-of-00002.safetensors"));
        HubException e = assertThrows(HubException.class, () -> fetch(settings(null, true)));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("not in the cache"), e.getMessage());
    }

    @Test
    void anUnreachableHubFallsBackToTheCache() throws IOException {
        Path online = fetch(settings(null, false));
        HubSettings nowhere = new HubSettings(temp.resolve("cache"), closedPort(), null, false);
        List<String> notes = new ArrayList<>();
        DownloadProgress progress = new DownloadProgress() {
            @Override
            public void start(String name, long total, long already) {}

            @Override
            public void advance(long bytes) {}

            @Override
            public void finish() {}

            @Override
            public void note(String line) {
                notes.add(line);
            }
        };
        assertEquals(online, fetch(nowhere, progress));
        assertEquals(1, notes.size());
        assertTrue(notes.get(0).contains("cannot reach the Hub"), notes.toString());

        HubSettings nothingCached = new HubSettings(temp.resolve("other-cache"), closedPort(), null, false);
        HubException e = assertThrows(HubException.class, () -> fetch(nothingCached));
        assertTrue(e.getMessage().contains("cannot reach the Hub") && e.getMessage().contains("not in the cache"),
                e.getMessage());
    }

    @Test
    void aGatedModelSaysWhatToDoAndDownloadsWithAnAllowedToken() throws IOException {
        repo.gated = true;
        repo.allowedTokens.add("hf_allowed");

        HubException noToken = assertThrows(HubException.class, () -> fetch(settings(null, false)));
        String m = noToken.getMessage();
        assertTrue(m.contains("gated") && m.contains(server.endpoint() + "/" + ID) && m.contains("accept")
                && m.contains("HF_TOKEN") && m.contains(server.endpoint() + "/settings/tokens"), m);

        HubException wrongToken = assertThrows(HubException.class, () -> fetch(settings("hf_other", false)));
        assertTrue(wrongToken.getMessage().contains("gated") && wrongToken.getMessage().contains("no access yet"),
                wrongToken.getMessage());

        server.clearRequests();
        Path folder = fetch(settings("hf_allowed", false));
        assertArrayEquals(shard2, Files.readAllBytes(folder.resolve("model-00002-of-00002.safetensors")));
        // The token goes to the Hub, never to the storage host the large files are redirected to.
        for (FakeHub.Request r : server.requests()) {
            assertEquals(r.server().equals("hub") ? "Bearer hf_allowed" : null, r.authorization(), r.toString());
        }
    }

    @Test
    void anUnknownModelOrRevisionIsNamed() {
        HubSettings s = settings(null, false);
        HubException missing = assertThrows(HubException.class, () -> HubModels.fetch(
                RepoId.parse(RepoId.Kind.MODEL, "acme/nothing"), new HubDownloader(s, DownloadProgress.SILENT)));
        assertTrue(missing.getMessage().contains("the Hub has no model acme/nothing, or it is private"),
                missing.getMessage());
        HubException revision = assertThrows(HubException.class, () -> HubModels.fetch(
                RepoId.parse(RepoId.Kind.MODEL, ID + "@v9"), new HubDownloader(s, DownloadProgress.SILENT)));
        assertTrue(revision.getMessage().contains("has no revision 'v9'"), revision.getMessage());
    }

    @Test
    void aCommitRevisionNamesItsSnapshotAndWritesNoRef() throws IOException {
        HubSettings s = settings(null, false);
        Path folder = HubModels.fetch(RepoId.parse(RepoId.Kind.MODEL, ID + "@" + repo.commit),
                new HubDownloader(s, DownloadProgress.SILENT));
        assertEquals(temp.resolve("cache/models--acme--tiny-llama/snapshots/" + repo.commit), folder);
        assertFalse(Files.exists(temp.resolve("cache/models--acme--tiny-llama/refs/main")));
        // Offline, a commit needs no ref to be found.
        assertEquals(folder, HubModels.fetch(RepoId.parse(RepoId.Kind.MODEL, ID + "@" + repo.commit),
                new HubDownloader(s.withOffline(true), DownloadProgress.SILENT)));
    }

    @Test
    void aModelWithoutSafetensorsIsRefusedBeforeAnyDownload() throws IOException {
        server.add(new FakeHub.Repo("model", "acme/old", hex(40)).file("config.json", config)
                .file("tokenizer.json", bytes(10)).largeFile("pytorch_model.bin", bytes(100)));
        HubException e = assertThrows(HubException.class, () -> HubModels.fetch(
                RepoId.parse(RepoId.Kind.MODEL, "acme/old"),
                new HubDownloader(settings(null, false), DownloadProgress.SILENT)));
        assertTrue(e.getMessage().contains("has no model.safetensors") && e.getMessage().contains(".bin"),
                e.getMessage());
        assertEquals(List.of(), server.fileRequests());
    }

    @Test
    void locateTakesAFolderHereBeforeAHubId() throws IOException {
        Path local = Files.createDirectories(temp.resolve("acme/tiny-llama"));
        assertEquals(local, HubModels.locate(local.toString(), settings(null, true), DownloadProgress.SILENT));
        IOException e = assertThrows(IOException.class, () -> HubModels.locate("no such thing",
                settings(null, true), DownloadProgress.SILENT));
        assertTrue(e.getMessage().contains("no such model folder"), e.getMessage());
    }

    private static URI closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return URI.create("http://127.0.0.1:" + s.getLocalPort());
        }
    }
}

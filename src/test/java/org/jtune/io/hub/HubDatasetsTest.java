package org.jtune.io.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hub datasets: which files are the train split, and fetching them into the cache beside the models. */
class HubDatasetsTest {
    @TempDir
    Path temp;
    private FakeHub server;
    private final Random random = new Random(System.nanoTime());

    @BeforeEach
    void setUp() throws IOException {
        server = new FakeHub();
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    @Test
    void theTrainSplitIsFoundAsTheDatasetsLibraryNamesIt() {
        assertEquals(List.of("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"),
                HubDatasets.trainFiles(List.of("README.md", ".gitattributes", "data/test-00000-of-00001.parquet",
                        "data/train-00001-of-00002.parquet", "data/train-00000-of-00002.parquet")));
        assertEquals(List.of("train.jsonl.gz"), HubDatasets.trainFiles(List.of("train.jsonl.gz", "valid.jsonl.gz",
                "dataset_infos.json")));
        assertEquals(List.of("train/part-0.csv"), HubDatasets.trainFiles(List.of("train/part-0.csv", "test/part-0.csv")));
        assertEquals(List.of("my_train_data.json"), HubDatasets.trainFiles(List.of("my_train_data.json", "x.py")));
        // No split named at all: every data file is the train split.
        assertEquals(List.of("a.parquet", "b/c.tsv"), HubDatasets.trainFiles(List.of("b/c.tsv", "a.parquet",
                "README.md")));
        // Splits named, but no train split; "constraint" holds "train" but not as a word.
        assertEquals(List.of(), HubDatasets.trainFiles(List.of("test.jsonl", "validation.jsonl")));
        assertEquals(List.of("constraints.jsonl"), HubDatasets.trainFiles(List.of("constraints.jsonl")));
    }

    @Test
    void fetchesTheTrainSplitIntoTheSharedCache() throws IOException {
        byte[] shard0 = bytes(40_000);
        byte[] shard1 = bytes(30_000);
        String commit = HexFormat.of().formatHex(bytes(20));
        server.add(new FakeHub.Repo("dataset", "acme/chats", commit)
                .file("README.md", "---\nlicense: mit\n---\n".getBytes(StandardCharsets.UTF_8))
                .largeFile("data/train-00000-of-00002.parquet", shard0)
                .largeFile("data/train-00001-of-00002.parquet", shard1)
                .largeFile("data/test-00000-of-00001.parquet", bytes(1000)));
        HubSettings settings = new HubSettings(temp.resolve("hub"), server.endpoint(), null, false);
        HubDownloader hub = new HubDownloader(settings, new HubClient(settings, 2, Duration.ofMillis(1)),
                DownloadProgress.SILENT);

        List<Path> files = HubDatasets.fetchTrainSplit(RepoId.parse(RepoId.Kind.DATASET, "acme/chats"), hub);

        Path snapshot = temp.resolve("hub/datasets--acme--chats/snapshots/" + commit);
        assertEquals(List.of(snapshot.resolve("data/train-00000-of-00002.parquet"),
                snapshot.resolve("data/train-00001-of-00002.parquet")), files);
        assertArrayEquals(shard0, Files.readAllBytes(files.get(0)));
        assertArrayEquals(shard1, Files.readAllBytes(files.get(1)));
        assertTrue(server.fileRequests().stream().allMatch(r -> r.path().startsWith("/datasets/acme/chats/resolve/")
                || r.server().equals("storage")), server.fileRequests().toString());
        assertTrue(server.fileRequests().stream().noneMatch(r -> r.path().contains("test-")));

        // Offline: the same files from the cache.
        assertEquals(files, HubDatasets.fetchTrainSplit(RepoId.parse(RepoId.Kind.DATASET, "acme/chats"),
                new HubDownloader(settings.withOffline(true), DownloadProgress.SILENT)));
    }

    @Test
    void aLocalFileWinsAndAMissingDatasetSaysBothWereTried() throws IOException {
        Path local = Files.writeString(Files.createDirectories(temp.resolve("acme")).resolve("data.jsonl"), "{}\n");
        HubSettings settings = new HubSettings(temp.resolve("hub"), server.endpoint(), null, false);
        assertEquals(List.of(local), HubDatasets.locate(local.toString(), settings, DownloadProgress.SILENT));
        HubException e = assertThrows(HubException.class, () -> HubDatasets.locate("acme/nothing", settings,
                DownloadProgress.SILENT));
        assertTrue(e.getMessage().startsWith("acme/nothing is not a file here, and as a Hub dataset: the Hub has no "
                + "dataset acme/nothing"), e.getMessage());
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}

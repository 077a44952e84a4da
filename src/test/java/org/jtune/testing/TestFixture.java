package org.jtune.testing;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;

/**
 * What most tests start from: a seed drawn fresh for every test (failure messages name it, so that a failure can be
 * replayed), a {@link Random} on it, an arena for off-heap tensors that is closed after the test, and a temporary
 * folder.
 */
public abstract class TestFixture {
    protected final long seed = System.nanoTime();
    protected final Random rnd = new Random(seed);
    protected final Arena arena = Arena.ofShared();

    @TempDir
    protected Path temp;

    @AfterEach
    void closeArena() {
        arena.close();
    }
}

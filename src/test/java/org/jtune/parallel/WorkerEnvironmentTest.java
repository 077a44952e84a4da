package org.jtune.parallel;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** torchrun's variables: read when set, refused with the variable's name when wrong. */
class WorkerEnvironmentTest {

    @Test
    void aProcessStartedOnItsOwnHasNone() {
        assertEquals(Optional.empty(), WorkerEnvironment.from(Map.of("MASTER_PORT", "29500", "PATH", "/bin")));
    }

    @Test
    void readsTheVariablesOfOneWorkerOfSeveralHosts() {
        WorkerEnvironment w = WorkerEnvironment.from(Map.of("MASTER_ADDR", " node-0 ", "MASTER_PORT", "29500",
                "RANK", "9", "WORLD_SIZE", "16", "LOCAL_RANK", "1")).orElseThrow();
        assertEquals(new WorkerEnvironment("node-0", 29500, 9, 16, 1), w);
        assertEquals(new WorkerEnvironment("127.0.0.1", 0, 0, 1, 0),
                WorkerEnvironment.from(Map.of("RANK", "0", "WORLD_SIZE", "1")).orElseThrow());
    }

    @Test
    void namesTheVariableThatIsWrong() {
        assertMessage("WORLD_SIZE is not set (RANK and WORLD_SIZE go together)", Map.of("RANK", "0"));
        assertMessage("RANK=4 must be a whole number from 0 to 3", Map.of("RANK", "4", "WORLD_SIZE", "4"));
        assertMessage("WORLD_SIZE=two must be a whole number from 1 to " + Integer.MAX_VALUE,
                Map.of("RANK", "0", "WORLD_SIZE", "two"));
        assertMessage("MASTER_ADDR is not set: the workers of a run of 2 need the host of worker 0",
                Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_PORT", "1"));
        assertMessage("MASTER_PORT=70000 must be a whole number from 1 to 65535",
                Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "70000"));
        assertMessage("LOCAL_RANK=3 must be a whole number from 0 to 1",
                Map.of("RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "3", "MASTER_ADDR", "h", "MASTER_PORT", "1"));
    }

    private static void assertMessage(String expected, Map<String, String> env) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> WorkerEnvironment.from(env))
                .getMessage());
    }
}

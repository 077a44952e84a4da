package org.jtune.cli;

import org.jtune.testing.TestFixture;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several GPUs are refused, under each name users know, before anything is loaded or written. */
class WorkerCountTest extends TestFixture {

    @Test
    void severalGpusAreRefusedWithTheReasonAndNothingIsWritten() {
        for (String[] run : new String[][] {{"sft", "--gpus", "2"}, {"sft", "--nproc-per-node", "8"},
                {"dpo", "--num-processes", "4"}, {"sft", "--nproc_per_node", "2"}}) {
            Path out = temp.resolve(run[0] + run[1]);
            CliFixture.Result r = CliFixture.run(run[0], run[1], run[2], "--output", out.toString());
            assertNotEquals(0, r.exitCode(), r.toString());
            assertTrue(r.err().contains(" " + run[2] + " asks for " + run[2] + " workers, one per GPU")
                    && r.err().contains("does not sum its gradients over NCCL yet"), r.toString());
            assertFalse(Files.exists(out), "nothing written: " + r);
        }
    }

    @Test
    void torchrunsVariablesOfSeveralWorkersAreRefused() {
        OptionParser.Parsed p = parse();
        UsageException e = assertThrows(UsageException.class, () -> WorkerCount.requireOne(p,
                Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500")));
        assertTrue(e.getMessage().startsWith("this process is worker 1 of 2 (RANK and WORLD_SIZE are set"),
                e.getMessage());
        UsageException wrong = assertThrows(UsageException.class,
                () -> WorkerCount.requireOne(p, Map.of("RANK", "0")));
        assertEquals("the launcher's variables are wrong: WORLD_SIZE is not set (RANK and WORLD_SIZE go together)",
                wrong.getMessage());
        assertDoesNotThrow(() -> WorkerCount.requireOne(p, Map.of("RANK", "0", "WORLD_SIZE", "1")));
        assertDoesNotThrow(() -> WorkerCount.requireOne(p, Map.of()));
        assertDoesNotThrow(() -> WorkerCount.requireOne(parse("--gpus", "1"), Map.of()));
        assertThrows(UsageException.class, () -> WorkerCount.requireOne(parse("--gpus", "0"), Map.of()));
    }

    private static OptionParser.Parsed parse(String... args) {
        return SftSettings.PARSER.parseOrHelp(args, new PrintStream(new ByteArrayOutputStream()));
    }
}

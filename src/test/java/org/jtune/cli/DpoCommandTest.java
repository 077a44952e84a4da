package org.jtune.cli;

import org.jtune.io.PeftAdapterFiles;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.jtune.cli.CliFixture.concat;
import static org.jtune.cli.CliFixture.records;
import static org.jtune.cli.CliFixture.run;
import static org.jtune.cli.CliFixture.trainMetric;
import static org.jtune.cli.CliFixture.writeLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dpo} end to end on the CPU, on a tiny model and a few steps. */
class DpoCommandTest {
    @TempDir
    Path temp;
    private Path model;
    private final long seed = System.nanoTime();

    @BeforeEach
    void setUp() throws IOException {
        model = CliFixture.tinyModel(temp.resolve("model"));
    }

    private CliFixture.Result dpo(Path output, String... more) {
        return CliFixture.train("dpo", model, output, 64, seed, more);
    }

    private static void assertFiniteMetrics(Path output, int steps, CliFixture.Result r) throws IOException {
        List<Double> losses = trainMetric(output, "loss");
        assertEquals(steps, losses.size(), r.toString());
        for (double l : losses) {
            assertTrue(Double.isFinite(l) && l >= 0, "loss " + l + "\n" + r);
        }
        for (double a : trainMetric(output, DpoCommand.ACCURACIES)) {
            assertTrue(a >= 0 && a <= 1, "accuracy " + a + "\n" + r);
        }
        for (double m : trainMetric(output, DpoCommand.MARGINS)) {
            assertTrue(Double.isFinite(m), "margin " + m + "\n" + r);
        }
    }

    @Test
    void trainsOnPreferencePairsWithEachLossAndWritesTheOutputs() throws IOException {
        Path data = writeLines(temp.resolve("pairs.jsonl"), records("preference", 10, seed));
        Path out = temp.resolve("out");
        CliFixture.Result r = dpo(out, "--data", data.toString(), "--max-steps", "3", "--batch-size", "2",
                "--grad-accum", "1", "--lora-r", "4", "--eval-split", "0.2", "--beta", "0.2");
        assertEquals(0, r.exitCode(), r.toString());
        for (String expected : List.of("10 records (prompt/chosen/rejected), all used", "8 pairs to train on, 2 held out",
                "sigmoid loss, beta 0.2", "training on the ", "rewards/accuracies:", "rewards/margins:")) {
            assertTrue(r.out().contains(expected), expected + "\n" + r);
        }
        assertFiniteMetrics(out, 3, r);
        for (String file : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                "adapter/tokenizer.json", "metrics.jsonl", "loss_curve.png")) {
            assertTrue(Files.isRegularFile(out.resolve(file)), "no " + file + "\n" + r);
        }
        assertEquals(4, PeftAdapterFiles.read(out.resolve("adapter")).config().r());

        for (String[] loss : List.of(new String[] {"--loss", "ipo"}, new String[] {"--loss", "hinge"},
                new String[] {"--label-smoothing", "0.1", "--precompute-ref-log-probs"})) {
            Path o = temp.resolve("out-" + loss[1]);
            r = dpo(o, concat(loss, "--data", data.toString(), "--max-steps", "2", "--batch-size", "2",
                    "--grad-accum", "1"));
            assertEquals(0, r.exitCode(), String.join(" ", loss) + ": " + r);
            assertFiniteMetrics(o, 2, r);
        }
    }

    @Test
    void badRecordsStopTheRunWithTheirPlaceOrAreSkipped() throws IOException {
        CliFixture.assertBadRecordsStopTheRunOrAreSkipped(this::dpo, temp, records("preference", 8, seed),
                "{\"prompt\": \"no rejected\", \"chosen\": \"yes\"}", "prompt/chosen/rejected");
    }

    @Test
    void helpAndUsageErrors() throws IOException {
        CliFixture.Result r = run("dpo", "--help");
        assertEquals(0, r.exitCode(), r.toString());
        for (String option : List.of("--beta X", "--loss NAME", "--label-smoothing X", "--precompute-ref-log-probs",
                "--batch-size N", "--lora-r N", "--resume", "default 5e-6")) {
            assertTrue(r.out().contains(option), option + "\n" + r);
        }
        assertTrue(run("--help").out().contains("dpo "), "the command list names dpo");

        Path data = writeLines(temp.resolve("d.jsonl"), records("preference", 4, seed));
        List<String[]> bad = List.of(new String[] {"--betta", "0.2"}, new String[] {"--loss", "kto"},
                new String[] {"--beta", "0"}, new String[] {"--loss", "ipo", "--label-smoothing", "0.1"},
                new String[] {"--label-smoothing", "0.5"}, new String[] {"--format", "text"});
        for (String[] args : bad) {
            r = dpo(temp.resolve("never"), concat(args, "--data", data.toString()));
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r);
            assertTrue(r.err().contains("jtune dpo: "), r.toString());
        }
        r = run("dpo", "--model", model.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--data FILE is required"), r.toString());
        assertFalse(Files.exists(temp.resolve("never")));
    }

    /** The demo learns its pairs: accuracies and margins rise from chance to (nearly) every pair. */
    @Test
    void demoAccuraciesAndMarginsRise() throws IOException {
        Path out = temp.resolve("demo");
        CliFixture.Result r = run("dpo", "--output", out.toString(), "--epochs", "3", "--save-steps", "0");
        assertEquals(0, r.exitCode(), r.toString());
        for (String expected : List.of("RANDOM", "2000 records (prompt/chosen/rejected), all used",
                "first 64 pairs, 3 times over", "training on the ", "rewards/accuracies:")) {
            assertTrue(r.out().contains(expected), expected + "\n" + r);
        }
        List<Double> accuracies = trainMetric(out, DpoCommand.ACCURACIES);
        List<Double> margins = trainMetric(out, DpoCommand.MARGINS);
        assertTrue(accuracies.size() >= 4, r.toString());
        assertTrue(accuracies.getFirst() < 0.8, "near chance at first: " + accuracies + "\n" + r);
        assertTrue(accuracies.getLast() >= 0.9, "accuracies " + accuracies + "\n" + r);
        assertTrue(margins.getLast() > margins.getFirst() + 0.5, "margins " + margins + "\n" + r);
    }

}

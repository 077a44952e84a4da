package org.jtune.train.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Event files read back with a reader written from the format's description. */
class TensorBoardWriterTest {
    @TempDir
    Path dir;

    @Test
    void theCrcIsCrc32cMaskedAsTfRecordSays() {
        // The CRC-32C check value of "123456789" is 0xE3069283.
        assertEquals(0xE3069283, TensorBoardEvents.crc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
        for (int n = 0; n < 200; n++) {
            byte[] b = new byte[n];
            new Random(n).nextBytes(b);
            assertEquals(TensorBoardEvents.masked(TensorBoardEvents.crc32c(b)), TensorBoardWriter.maskedCrc(b));
        }
    }

    @Test
    void everyLoggedScalarReadsBackAtItsStep() throws IOException {
        Random random = new Random(System.nanoTime());
        List<TrainingListener.TrainLog> logs = new ArrayList<>();
        List<TrainingListener.EvalLog> evals = new ArrayList<>();
        Path file;
        long before = System.currentTimeMillis();
        try (TensorBoardWriter w = TensorBoardWriter.create(dir.resolve("runs"))) {
            file = w.file();
            for (int step = 1; step <= 40; step += 1 + random.nextInt(3)) {
                Map<String, Double> extra = new LinkedHashMap<>();
                if (random.nextBoolean()) {
                    extra.put("rewards/margins", random.nextGaussian());
                    extra.put("rewards/accuracies", random.nextDouble());
                }
                TrainingListener.TrainLog log = new TrainingListener.TrainLog(step, step / 17.0, 5 * random.nextDouble(),
                        random.nextDouble() * 1e-3, random.nextDouble(), random.nextInt(10000),
                        random.nextDouble() * 5000, extra);
                logs.add(log);
                w.onLog(log);
                if (step % 10 == 0) {
                    TrainingListener.EvalLog eval = new TrainingListener.EvalLog(step, step / 17.0, random.nextDouble(),
                            random.nextInt(1000), Map.of("rewards/margins", random.nextGaussian()));
                    evals.add(eval);
                    w.onEval(eval);
                }
            }
        }
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."), file.toString());
        List<TensorBoardEvents.Event> events = TensorBoardEvents.read(file);
        assertEquals("brain.Event:2", events.get(0).fileVersion());
        assertEquals(-1, events.get(0).step());
        assertTrue(events.get(0).wallTime() * 1000 >= before - 1000);

        int e = 1;
        int nextEval = 0;
        for (TrainingListener.TrainLog log : logs) {
            TensorBoardEvents.Event ev = events.get(e++);
            assertEquals(log.step(), ev.step());
            assertNull(ev.fileVersion());
            Map<String, Float> expected = new LinkedHashMap<>();
            expected.put("train/loss", (float) log.loss());
            expected.put("train/learning_rate", (float) log.learningRate());
            expected.put("train/grad_norm", (float) log.gradNorm());
            expected.put("train/epoch", (float) log.epoch());
            expected.put("train/tokens_per_second", (float) log.tokensPerSecond());
            log.metrics().forEach((k, v) -> expected.put("train/" + k, v.floatValue()));
            assertEquals(expected, ev.scalars(), "step " + log.step());
            if (nextEval < evals.size() && evals.get(nextEval).step() == log.step()) {
                TrainingListener.EvalLog eval = evals.get(nextEval++);
                TensorBoardEvents.Event ee = events.get(e++);
                assertEquals(eval.step(), ee.step());
                assertEquals(Map.of("eval/loss", (float) eval.loss(), "eval/rewards/margins",
                        eval.metrics().get("rewards/margins").floatValue()), ee.scalars());
            }
        }
        assertEquals(events.size(), e);
    }
}

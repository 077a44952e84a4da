package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.backend.Backend;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.jtune.train.report.LossCurvePlot;
import org.jtune.train.report.MetricsFile;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training loop end to end on a tiny model: determinism, resume, checkpoints, metrics and the plot. */
class TrainerTest extends TestFixture {
    /** These tests check the CPU engine\'s numbers: they train on the CPU even where a GPU is present. */
    private static final Backend CPU = Backend.cpu("test");
    private static final int LEN = 8;
    private final long weightSeed = rnd.nextLong(), loraSeed = rnd.nextLong();
    private final List<Batch> trainBatches = TinyModel.batches(rnd, 7, 2, LEN);
    private final List<Batch> evalBatches = TinyModel.batches(rnd, 2, 2, LEN);

    private TrainingArguments.Builder args(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(6).learningRate(5e-3).warmupSteps(2).lrSchedulerType(LrSchedule.COSINE).saveSteps(2)
                .seed(11).progressBar(false);
    }

    /** The step losses and final adapter values of one run. */
    private record Run(List<Float> losses, List<float[]> adapters, TrainResult result) {}

    private Run run(TrainingArguments a, BatchSource<Batch> source, Path resumeFrom) throws IOException {
        TinyModel m = new TinyModel(weightSeed, arena);
        LoraAdapters lora = TinyModel.initAdapters(loraSeed, arena);
        List<Float> losses = new ArrayList<>();
        Trainer<Batch> trainer = Trainer.sft(CPU, TinyModel.CONFIG, m.weights, lora, LEN, a, source,
                new ListBatchSource<>(evalBatches, false));
        trainer.addListener(new TrainingListener() {
            @Override
            public void onStep(StepProgress p) {
                losses.add((float) p.loss());
            }
        });
        TrainResult result = resumeFrom == null ? trainer.train() : trainer.resume(resumeFrom);
        return new Run(losses, lora.names().stream().map(n -> lora.tensor(n).toFloatArray()).toList(), result);
    }

    private static void assertSameAdapters(Run a, Run b, String what) {
        for (int t = 0; t < a.adapters().size(); t++) {
            assertArrayEquals(a.adapters().get(t), b.adapters().get(t), 0f, what + ", matrix " + t);
        }
    }

    @Test
    void sameSeedSameRunBitForBit() throws IOException {
        Run a = run(args(temp.resolve("a")).build(), new ListBatchSource<>(trainBatches, true), null);
        Run b = run(args(temp.resolve("b")).build(), new ListBatchSource<>(trainBatches, true), null);
        assertEquals(6, a.losses().size());
        assertEquals(a.losses(), b.losses(), "seed " + seed);
        assertSameAdapters(a, b, "seed " + seed);
        Run other = run(args(temp.resolve("c")).seed(12).build(), new ListBatchSource<>(trainBatches, true), null);
        assertNotEquals(a.losses(), other.losses(), "another seed shuffles the data differently");
    }

    @Test
    void trainingLowersTheLoss() throws IOException {
        Run r = run(args(temp.resolve("a")).maxSteps(40).learningRate(2e-2).saveSteps(0).build(),
                new ListBatchSource<>(trainBatches.subList(0, 2), false), null);
        float first = r.losses().get(0), last = r.losses().get(r.losses().size() - 1);
        assertTrue(last < 0.8 * first, "seed " + seed + ": loss went from " + first + " to " + last);
    }

    /** Throws at a given call of next() or state(), as a crash would stop the run there. */
    private static final class CrashingSource implements BatchSource<Batch> {
        private final BatchSource<Batch> inner;
        private final int crashAtNext, crashAtState;
        private int nexts, states;

        CrashingSource(BatchSource<Batch> inner, int crashAtNext, int crashAtState) {
            this.inner = inner;
            this.crashAtNext = crashAtNext;
            this.crashAtState = crashAtState;
        }

        @Override
        public void startEpoch(int epoch, long seed) {
            inner.startEpoch(epoch, seed);
        }

        @Override
        public Batch next() {
            if (++nexts == crashAtNext) {
                throw new IllegalStateException("simulated crash");
            }
            return inner.next();
        }

        @Override
        public long batchesPerEpoch() {
            return inner.batchesPerEpoch();
        }

        @Override
        public String state() {
            if (++states == crashAtState) {
                throw new IllegalStateException("simulated crash while saving");
            }
            return inner.state();
        }

        @Override
        public void restore(String state) {
            inner.restore(state);
        }
    }

    @Test
    void resumedRunEqualsTheUninterruptedOneBitForBit() throws IOException {
        // 7 micro-batches, accumulation 2: steps 1-4 are epoch 1 (step 4 takes the last micro-batch alone), steps 5-6
        // are in epoch 2, so the resumed run crosses an epoch boundary
        Run whole = run(args(temp.resolve("whole")).build(), new ListBatchSource<>(trainBatches, true), null);
        Path out = temp.resolve("interrupted");
        // the 9th call of next() is step 5's first (the 8th found the end of epoch 1): the run dies after checkpoint-4
        assertThrows(IllegalStateException.class,
                () -> run(args(out).build(), new CrashingSource(new ListBatchSource<>(trainBatches, true), 9, 0), null));
        Path checkpoint = TrainingCheckpoint.latest(out).orElseThrow();
        assertEquals("checkpoint-4", checkpoint.getFileName().toString());
        Run resumed = run(args(out).build(), new ListBatchSource<>(trainBatches, true), checkpoint);
        assertEquals(whole.losses().subList(4, 6), resumed.losses(), "seed " + seed);
        assertSameAdapters(whole, resumed, "seed " + seed);
        assertEquals(6, resumed.result().globalStep());

        List<JsonNode> wholeLines = lines(temp.resolve("whole").resolve(MetricsFile.FILE_NAME));
        List<JsonNode> resumedLines = lines(out.resolve(MetricsFile.FILE_NAME));
        assertEquals(wholeLines.size(), resumedLines.size());
        for (int i = 0; i < wholeLines.size(); i++) {
            for (String key : List.of("type", "step", "loss", "learning_rate", "grad_norm", "eval_loss", "epoch")) {
                assertEquals(wholeLines.get(i).path(key), resumedLines.get(i).path(key), "line " + i + " " + key);
            }
        }
    }

    @Test
    void aCrashWhileSavingLeavesThePreviousCheckpointIntact() throws IOException {
        Path reference = temp.resolve("reference"), out = temp.resolve("crashed");
        run(args(reference).maxSteps(2).build(), new ListBatchSource<>(trainBatches, true), null);
        // the second checkpoint (step 4) fails after its adapter and optimizer files were written
        assertThrows(IllegalStateException.class,
                () -> run(args(out).build(), new CrashingSource(new ListBatchSource<>(trainBatches, true), 0, 2), null));
        for (String file : List.of("adapter_model.safetensors", "adapter_config.json", "optimizer.safetensors",
                TrainingCheckpoint.STATE_FILE)) {
            assertArrayEquals(Files.readAllBytes(reference.resolve("checkpoint-2").resolve(file)),
                    Files.readAllBytes(out.resolve("checkpoint-2").resolve(file)), file);
        }
        assertFalse(Files.exists(out.resolve("checkpoint-4")));
        assertFalse(Files.exists(out.resolve(".checkpoint-4.tmp")));
        // what a killed process leaves behind is not taken for a checkpoint
        Files.createDirectories(out.resolve(".checkpoint-4.tmp"));
        Files.createDirectories(out.resolve("checkpoint-6"));
        Files.copy(reference.resolve("checkpoint-2").resolve("adapter_config.json"),
                out.resolve("checkpoint-6").resolve("adapter_config.json"));
        assertEquals(out.resolve("checkpoint-2"), TrainingCheckpoint.latest(out).orElseThrow());

        Run whole = run(args(temp.resolve("whole")).build(), new ListBatchSource<>(trainBatches, true), null);
        Run resumed = run(args(out).build(), new ListBatchSource<>(trainBatches, true), out.resolve("checkpoint-2"));
        assertEquals(whole.losses().subList(2, 6), resumed.losses(), "seed " + seed);
        assertFalse(Files.exists(out.resolve(".checkpoint-4.tmp")), "a later save cleans a stale temporary folder");
    }

    @Test
    void resumeRefusesOtherStepSettings() throws IOException {
        Path out = temp.resolve("a");
        run(args(out).maxSteps(2).build(), new ListBatchSource<>(trainBatches, true), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(
                args(out).learningRate(1e-3).seed(12).build(), new ListBatchSource<>(trainBatches, true),
                out.resolve("checkpoint-2")));
        assertTrue(e.getMessage().contains("checkpoint-2"), e.getMessage());
        // Only what changed, one line each, old -> new.
        assertTrue(e.getMessage().contains("\n  learning_rate: 0.005 -> 0.001\n  seed: 11 -> 12\n"), e.getMessage());
        assertTrue(e.getMessage().length() < 400, e.getMessage());
    }

    /** A checkpoint without optimizer state (as older GPU runs wrote) is refused, not resumed with fresh moments. */
    @Test
    void resumeRefusesACheckpointWithoutOptimizerState() throws IOException {
        Path out = temp.resolve("a");
        run(args(out).maxSteps(2).build(), new ListBatchSource<>(trainBatches, true), null);
        Files.delete(out.resolve("checkpoint-2").resolve(TrainingCheckpoint.OPTIMIZER_FILE));
        IOException e = assertThrows(IOException.class, () -> run(args(out).build(),
                new ListBatchSource<>(trainBatches, true), out.resolve("checkpoint-2")));
        assertTrue(e.getMessage().contains("checkpoint-2") && e.getMessage().contains("GPU"), e.getMessage());
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(json.readTree(line));
        }
        return out;
    }

    @Test
    void metricsLinesParseAndFollowTheSchedule() throws IOException {
        Path out = temp.resolve("m");
        TrainingArguments a = args(out).maxSteps(0).numTrainEpochs(2).loggingSteps(2).evalSteps(3).build();
        run(a, new ListBatchSource<>(trainBatches, false), null);
        // 7 micro-batches, accumulation 2: 4 steps per epoch (the last one takes 1 micro-batch), 8 in all
        List<JsonNode> lines = lines(out.resolve(MetricsFile.FILE_NAME));
        List<Long> trainSteps = new ArrayList<>(), evalSteps = new ArrayList<>();
        for (JsonNode n : lines) {
            if (n.get("type").asText().equals("train")) {
                trainSteps.add(n.get("step").asLong());
                long step = n.get("step").asLong();
                double expectedLr = 5e-3 * LrSchedule.COSINE.multiplier(step - 1, 2, 8);
                assertEquals(expectedLr, n.get("learning_rate").asDouble(), 1e-18, "lr at step " + step);
                assertTrue(n.get("loss").asDouble() > 0 && n.get("grad_norm").asDouble() > 0, n.toString());
                assertEquals(2 * 2 * 2 * LEN, n.get("tokens").asLong() + (step == 4 || step == 8 ? 2 * LEN : 0),
                        n.toString());
                assertTrue(n.has("tokens_per_second") && n.has("epoch"), n.toString());
            } else {
                assertEquals("eval", n.get("type").asText());
                evalSteps.add(n.get("step").asLong());
                assertEquals(evalBatches.get(0).labelledTokens() + evalBatches.get(1).labelledTokens(),
                        n.get("eval_tokens").asLong());
                assertTrue(n.get("eval_loss").asDouble() > 0, n.toString());
            }
        }
        assertEquals(List.of(2L, 4L, 6L, 8L), trainSteps);
        assertEquals(List.of(3L, 6L), evalSteps);
        assertEquals(2.0, lines.get(lines.size() - 1).get("epoch").asDouble(), 0);
    }

    @Test
    void writesTheLossCurve() throws IOException {
        Path out = temp.resolve("plot");
        run(args(out).maxSteps(12).evalSteps(3).saveSteps(0).build(), new ListBatchSource<>(trainBatches, true), null);
        BufferedImage image = ImageIO.read(out.resolve(LossCurvePlot.FILE_NAME).toFile());
        assertEquals(LossCurvePlot.WIDTH, image.getWidth());
        assertEquals(LossCurvePlot.HEIGHT, image.getHeight());
        int train = 0, eval = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                train += rgb == (LossCurvePlot.TRAIN_COLOR.getRGB() & 0xFFFFFF) ? 1 : 0;
                eval += rgb == (LossCurvePlot.EVAL_COLOR.getRGB() & 0xFFFFFF) ? 1 : 0;
            }
        }
        assertTrue(train > 200 && eval > 100, "curve pixels: train " + train + ", eval " + eval);
    }

    @Test
    void refusesBatchesLargerThanConfigured() {
        List<Batch> tooLong = List.of(TinyModel.batch(rnd, 1, LEN + 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(
                args(temp.resolve("x")).build(), new ListBatchSource<>(tooLong, false), null));
        assertTrue(e.getMessage().contains("max sequence length"), e.getMessage());
    }
}

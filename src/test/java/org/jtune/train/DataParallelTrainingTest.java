package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.backend.Backend;
import org.jtune.parallel.Communicator;
import org.jtune.parallel.InProcessGroup;
import org.jtune.parallel.SingleCommunicator;
import org.jtune.parallel.WorkerFailedException;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.jtune.train.report.MetricsFile;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel training on the CPU engine, the workers as threads: N workers with accumulation A train as one
 * worker with accumulation N·A (the same global batch, data order, losses and adapters), one worker through the
 * data-parallel path is today's trainer bit for bit, a failing worker ends every worker with its error, and a
 * resumed run of two workers continues as the uninterrupted one.
 *
 * <p>Tolerance against one worker: the workers' gradients are summed in another order than one worker's
 * accumulation (per worker, then across workers, in float32), and a worker's loss weight is applied as a second
 * rounding; each step's gradient differs by a few float32 ulps (~1e-7 relative). AdamW divides by the root of the
 * second moment, so a relative error of the gradient is a relative error of the update of about the same size, and
 * the next steps' losses move by far less than 1e-5 relative (seen: up to 1e-7). The gradient norm sums squares of
 * entries, the small of which differ relatively more (seen: up to 1.4e-6 relative). The checks allow 1e-5 relative
 * for losses, 2e-5 for gradient norms and 1e-5 absolute for adapter entries (which are ~0.3 and move by ~lr = 5e-3
 * per step; seen: 1.2e-7): a rounding-order difference stays below, while a misweighted, lost or double-counted
 * micro-batch moves the losses by 1e-3 or more.
 */
class DataParallelTrainingTest extends TestFixture {
    private static final Backend CPU = Backend.cpu("test");
    private static final int LEN = 8;
    private static final double LOSS_TOLERANCE = 1e-5, NORM_TOLERANCE = 2e-5;
    private static final float ADAPTER_TOLERANCE = 1e-5f;
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private final long weightSeed = rnd.nextLong(), loraSeed = rnd.nextLong();
    /** 13 micro-batches: with 3 workers × 2 the third step of an epoch takes one, so two workers have none. */
    private final List<Batch> trainBatches = TinyModel.batches(rnd, 13, 2, LEN);
    private final List<Batch> evalBatches = TinyModel.batches(rnd, 3, 2, LEN);

    private TrainingArguments.Builder args(Path out, int accumulation) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2)
                .gradientAccumulationSteps(accumulation).maxSteps(6).learningRate(5e-3).warmupSteps(2)
                .lrSchedulerType(LrSchedule.COSINE).saveSteps(2).evalSteps(3).seed(11).progressBar(false);
    }

    /** What one worker saw: step losses, eval losses, gradient norms of the log lines, final adapters. */
    private record Run(List<Double> losses, List<Double> evalLosses, List<Double> gradNorms, List<float[]> adapters,
                       TrainResult result) {}

    private Run worker(Communicator communicator, TrainingArguments a, BatchSource<Batch> source, Path resumeFrom)
            throws IOException {
        TinyModel m = new TinyModel(weightSeed, arena);
        // every worker starts from its own random adapters: worker 0's reach the others at the start
        LoraAdapters lora = TinyModel.randomAdapters(new Random(loraSeed + communicator.rank()), arena);
        List<Double> losses = new ArrayList<>(), evals = new ArrayList<>(), norms = new ArrayList<>();
        Trainer<Batch> trainer = Trainer.sft(CPU, TinyModel.CONFIG, m.weights, lora, LEN, a, source,
                new ListBatchSource<>(evalBatches, false)).dataParallel(communicator);
        trainer.addListener(new TrainingListener() {
            @Override
            public void onStep(StepProgress p) {
                losses.add(p.loss());
            }

            @Override
            public void onLog(TrainLog log) {
                norms.add(log.gradNorm());
            }

            @Override
            public void onEval(EvalLog log) {
                evals.add(log.loss());
            }
        });
        TrainResult result = resumeFrom == null ? trainer.train() : trainer.resume(resumeFrom);
        return new Run(losses, evals, norms, lora.names().stream().map(n -> lora.tensor(n).toFloatArray()).toList(),
                result);
    }

    private List<Run> workers(int count, TrainingArguments a, IntFunction<BatchSource<Batch>> sources,
                              Path resumeFrom) throws InterruptedException {
        return assertTimeoutPreemptively(LIMIT,
                () -> InProcessGroup.run(count, c -> worker(c, a, sources.apply(c.rank()), resumeFrom)));
    }

    private BatchSource<Batch> shuffled() {
        return new ListBatchSource<>(trainBatches, true);
    }

    @Test
    void twoAndThreeWorkersTrainAsOneWithTheSameGlobalBatch() throws Exception {
        for (int count : new int[] {2, 3}) {
            String what = count + " workers, seed " + seed;
            Run one = worker(SingleCommunicator.INSTANCE, args(temp.resolve("one" + count), 2 * count).build(),
                    shuffled(), null);
            Path out = temp.resolve("dp" + count);
            List<Run> runs = workers(count, args(out, 2).build(), r -> shuffled(), null);
            for (Run r : runs) {
                assertEquals(runs.get(0).losses(), r.losses(), what + ": every worker logs the run's losses");
                assertEquals(runs.get(0).gradNorms(), r.gradNorms(), what);
                for (int t = 0; t < r.adapters().size(); t++) {
                    assertArrayEquals(runs.get(0).adapters().get(t), r.adapters().get(t), 0f,
                            what + ": every worker holds the same adapters, matrix " + t);
                }
            }
            Run dp = runs.get(0);
            assertClose(one.losses(), dp.losses(), LOSS_TOLERANCE, what + ", step losses");
            assertClose(one.evalLosses(), dp.evalLosses(), LOSS_TOLERANCE, what + ", eval losses");
            assertClose(one.gradNorms(), dp.gradNorms(), NORM_TOLERANCE, what + ", gradient norms");
            assertEquals(6, dp.losses().size());
            assertEquals(2, dp.evalLosses().size());
            for (int t = 0; t < one.adapters().size(); t++) {
                float[] a = one.adapters().get(t), b = dp.adapters().get(t);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(a[i], b[i], ADAPTER_TOLERANCE, what + ", matrix " + t + " entry " + i);
                }
            }
            // worker 0 wrote the run's files, once
            List<JsonNode> lines = lines(out.resolve(MetricsFile.FILE_NAME));
            List<Double> logged = lines.stream().filter(l -> l.path("type").asText().equals("train"))
                    .map(l -> l.get("loss").asDouble()).toList();
            assertEquals(dp.losses(), logged, what + ": metrics.jsonl has the run's losses");
            assertEquals(dp.result().lastCheckpoint(), TrainingCheckpoint.latest(out).orElseThrow());
            assertEquals(count, JSON.readTree(out.resolve("checkpoint-6").resolve(TrainingCheckpoint.STATE_FILE)
                    .toFile()).get("world_size").asInt());
        }
    }

    private static void assertClose(List<Double> expected, List<Double> actual, double tolerance, String what) {
        assertEquals(expected.size(), actual.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i), a = actual.get(i);
            assertTrue(Double.isFinite(a) && Math.abs(e - a) <= tolerance * Math.abs(e),
                    what + " [" + i + "]: one worker " + e + ", data parallel " + a);
        }
    }

    @Test
    void oneWorkerThroughTheDataParallelPathIsTodaysTrainerBitForBit() throws Exception {
        Run plain = worker(SingleCommunicator.INSTANCE, args(temp.resolve("plain"), 2).build(), shuffled(), null);
        List<Run> group = workers(1, args(temp.resolve("group"), 2).build(), r -> shuffled(), null);
        Run today = runWithoutCommunicator(args(temp.resolve("today"), 2).build());
        for (Run r : List.of(plain, group.get(0))) {
            assertEquals(today.losses(), r.losses(), "seed " + seed);
            assertEquals(today.evalLosses(), r.evalLosses(), "seed " + seed);
            assertEquals(today.gradNorms(), r.gradNorms(), "seed " + seed);
            for (int t = 0; t < today.adapters().size(); t++) {
                assertArrayEquals(today.adapters().get(t), r.adapters().get(t), 0f, "seed " + seed + ", matrix " + t);
            }
        }
    }

    /** A trainer on which dataParallel is never called. */
    private Run runWithoutCommunicator(TrainingArguments a) throws IOException {
        TinyModel m = new TinyModel(weightSeed, arena);
        LoraAdapters lora = TinyModel.randomAdapters(new Random(loraSeed), arena);
        List<Double> losses = new ArrayList<>(), evals = new ArrayList<>(), norms = new ArrayList<>();
        Trainer<Batch> trainer = Trainer.sft(CPU, TinyModel.CONFIG, m.weights, lora, LEN, a, shuffled(),
                new ListBatchSource<>(evalBatches, false));
        trainer.addListener(new TrainingListener() {
            @Override
            public void onStep(StepProgress p) {
                losses.add(p.loss());
            }

            @Override
            public void onLog(TrainLog log) {
                norms.add(log.gradNorm());
            }

            @Override
            public void onEval(EvalLog log) {
                evals.add(log.loss());
            }
        });
        TrainResult result = trainer.train();
        return new Run(losses, evals, norms, lora.names().stream().map(n -> lora.tensor(n).toFloatArray()).toList(),
                result);
    }

    @Test
    void aFailingWorkerEndsEveryWorkerWithItsError() {
        // worker 1 dies in its third step's data; the others wait in that step's sums until they learn of it
        WorkerFailedException e = assertThrows(WorkerFailedException.class, () -> workers(3,
                args(temp.resolve("fail"), 2).build(),
                r -> r == 1 ? new FailingSource(shuffled(), 13) : shuffled(), null));
        assertEquals(1, e.failedRank());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals("simulated crash", e.getCause().getMessage());
        assertTrue(e.getMessage().contains("worker 1 of 3 failed: IllegalStateException: simulated crash"),
                e.getMessage());
        assertEquals(2, e.getSuppressed().length, "the two other workers stopped with it");
        for (Throwable other : e.getSuppressed()) {
            assertEquals(1, assertInstanceOf(WorkerFailedException.class, other).failedRank());
        }
    }

    @Test
    void aResumedTwoWorkerRunContinuesAsTheUninterruptedOne() throws Exception {
        Path whole = temp.resolve("whole"), out = temp.resolve("interrupted");
        List<Run> uninterrupted = workers(2, args(whole, 2).build(), r -> shuffled(), null);
        // the 15th call of next() is in step 5 (steps 1-4 take 4, 4, 4, 1 micro-batches and the end of the epoch):
        // worker 0 dies there, after checkpoint-4, and worker 1 with it
        assertThrows(WorkerFailedException.class, () -> workers(2, args(out, 2).build(),
                r -> r == 0 ? new FailingSource(shuffled(), 15) : shuffled(), null));
        Path checkpoint = TrainingCheckpoint.latest(out).orElseThrow();
        assertEquals("checkpoint-4", checkpoint.getFileName().toString());
        List<Run> resumed = workers(2, args(out, 2).build(), r -> shuffled(), checkpoint);
        for (int w = 0; w < 2; w++) {
            Run a = uninterrupted.get(w), b = resumed.get(w);
            assertEquals(a.losses().subList(4, 6), b.losses(), "worker " + w + ", seed " + seed);
            for (int t = 0; t < a.adapters().size(); t++) {
                assertArrayEquals(a.adapters().get(t), b.adapters().get(t), 0f, "worker " + w + ", matrix " + t);
            }
        }
        List<JsonNode> a = lines(whole.resolve(MetricsFile.FILE_NAME)), b = lines(out.resolve(MetricsFile.FILE_NAME));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("type", "step", "loss", "learning_rate", "grad_norm", "eval_loss", "epoch")) {
                assertEquals(a.get(i).path(key), b.get(i).path(key), "line " + i + " " + key);
            }
        }
    }

    @Test
    void resumeRefusesAnotherNumberOfWorkers() throws Exception {
        Path out = temp.resolve("run");
        workers(2, args(out, 2).maxSteps(2).build(), r -> shuffled(), null);
        Path checkpoint = TrainingCheckpoint.latest(out).orElseThrow();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> worker(SingleCommunicator.INSTANCE, args(out, 2).build(), shuffled(), checkpoint));
        assertTrue(e.getMessage().contains("trained by 2 worker(s)") && e.getMessage().contains("resume it with 2"),
                e.getMessage());
        assertFalse(Files.exists(out.resolve("checkpoint-4")));
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    /** Throws at a given call of next(), as a worker that crashes there. */
    private static final class FailingSource implements BatchSource<Batch> {
        private final BatchSource<Batch> inner;
        private final int failAt;
        private int calls;

        FailingSource(BatchSource<Batch> inner, int failAt) {
            this.inner = inner;
            this.failAt = failAt;
        }

        @Override
        public void startEpoch(int epoch, long seed) {
            inner.startEpoch(epoch, seed);
        }

        @Override
        public Batch next() {
            if (++calls == failAt) {
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
            return inner.state();
        }

        @Override
        public void restore(String state) {
            inner.restore(state);
        }
    }
}

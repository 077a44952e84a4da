package org.jtune.train;

import org.jtune.io.SafetensorsFile;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The training loop with an engine whose optimizer state lives apart from the host, as the GPU's does in device
 * memory: checkpoints must save what {@link StepEngine#storeOptimizer} hands over, and a resume must give the
 * restored state back through {@link StepEngine#loadRestored}, so that the resumed run continues the state as the
 * uninterrupted one did. The engine's loss is a function of that state, so any state lost or reset shows.
 */
class EngineOptimizerStateTest {
    private static final int LEN = 8, STEPS = 5, SAVE = 2;
    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);
    private final List<Batch> batches = TinyModel.batches(rnd, 7, 2, LEN);
    private final float decay = 0.5f + rnd.nextFloat() * 0.45f;

    @TempDir
    Path temp;

    @AfterEach
    void close() {
        arena.close();
    }

    /** Keeps a step count and one moment value per matrix to itself; only the hooks copy them to or from the host. */
    private final class StateApartEngine implements StepEngine<Batch> {
        private final AdamW host;
        private final float[] moments;
        private long steps;

        StateApartEngine(LoraAdapters lora, TrainingArguments args) {
            host = new AdamW(AdapterFiles.tensors(lora), args.adamSettings(), arena);
            moments = new float[lora.names().size()];
        }

        @Override
        public void prepare(Iterator<Batch> trainEpoch, Iterator<Batch> evalEpoch) {}

        @Override
        public Update step(List<Batch> window, double lr) {
            steps++;
            double loss = steps;
            for (int t = 0; t < moments.length; t++) {
                moments[t] = decay * moments[t] + (t + 1) * (float) lr;
                loss += moments[t];
            }
            return new Update(new Objective.Step(loss, window.size(), Map.of()), 0);
        }

        @Override
        public Objective.Eval evaluate(Iterator<Batch> evalEpoch) {
            throw new UnsupportedOperationException("the test runs no evaluation");
        }

        @Override
        public void storeAdapters() {}

        @Override
        public Optional<AdamW> optimizer() {
            return Optional.of(host);
        }

        @Override
        public void storeOptimizer() {
            host.restoreStepCount(steps);
            for (int t = 0; t < moments.length; t++) {
                host.firstMoments().get(t).fill(moments[t]);
                host.secondMoments().get(t).fill(moments[t] * moments[t]);
            }
        }

        @Override
        public void loadRestored() {
            steps = host.stepCount();
            for (int t = 0; t < moments.length; t++) {
                moments[t] = host.firstMoments().get(t).get(0);
            }
        }

        @Override
        public void close() {}
    }

    private TrainingArguments args(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2).gradientAccumulationSteps(2)
                .maxSteps(STEPS).learningRate(1e-2).warmupSteps(1).lrSchedulerType(LrSchedule.COSINE)
                .saveSteps(SAVE).seed(seed).progressBar(false).build();
    }

    private List<Double> run(Path out, Path resumeFrom) throws IOException {
        LoraAdapters lora = TinyModel.initAdapters(seed, arena);
        TrainingArguments a = args(out);
        StepEngine.Factory<Batch> engines = new StepEngine.Factory<>() {
            @Override
            public StepEngine<Batch> open() {
                return new StateApartEngine(lora, a);
            }

            @Override
            public String resumeRefusal() {
                return null;
            }
        };
        TrainingLoop<Batch> loop = new TrainingLoop<>(TinyModel.CONFIG, lora, 2, LEN, a,
                new ListBatchSource<>(batches, true), null, new SftObjective(lora), engines);
        List<Double> losses = new ArrayList<>();
        loop.addListener(new TrainingListener() {
            @Override
            public void onStep(StepProgress p) {
                losses.add(p.loss());
            }
        });
        if (resumeFrom == null) {
            loop.train();
        } else {
            loop.resume(resumeFrom);
        }
        return losses;
    }

    @Test
    void resumeContinuesTheStateTheEngineHandedOver() throws IOException {
        Path full = temp.resolve("full"), resumed = temp.resolve("resumed");
        List<Double> fullLosses = run(full, null);
        run(resumed, null);
        List<Double> resumedLosses = run(resumed, resumed.resolve("checkpoint-" + SAVE));
        String what = "seed " + seed + ", decay " + decay;
        assertEquals(STEPS, fullLosses.size(), what);
        assertEquals(fullLosses.subList(SAVE, STEPS), resumedLosses, what);

        Path fullLast = full.resolve("checkpoint-" + STEPS), resumedLast = resumed.resolve("checkpoint-" + STEPS);
        try (SafetensorsFile f = SafetensorsFile.open(fullLast.resolve(TrainingCheckpoint.OPTIMIZER_FILE));
             SafetensorsFile r = SafetensorsFile.open(resumedLast.resolve(TrainingCheckpoint.OPTIMIZER_FILE))) {
            assertEquals(Integer.toString(STEPS), f.metadata().get("step"), what);
            assertEquals(Integer.toString(STEPS), r.metadata().get("step"), what);
            assertEquals(f.names(), r.names(), what);
            for (String name : f.names()) {
                assertArrayEquals(f.readFloats(name), r.readFloats(name), 0f, name + ", " + what);
            }
        }
    }
}

package org.jtune.train;

import org.jtune.io.SafetensorsFile;
import org.jtune.model.Batch;
import org.jtune.model.Engine;
import org.jtune.model.LoraAdapters;
import org.jtune.model.OptimizerState;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The trainer with an engine whose optimizer state lives apart from the host, as the GPU's does in device memory:
 * checkpoints must save what {@link Engine#storeOptimizerState} hands over, and a resume must give the restored state
 * back through {@link Engine#loadOptimizerState} after {@link Engine#loadAdapters}, so that the resumed run continues
 * the state as the uninterrupted one did. The engine's loss is a function of that state, so any state lost or reset
 * shows.
 */
class EngineOptimizerStateTest extends TestFixture {
    private static final int LEN = 8, STEPS = 5, SAVE = 2;
    private final List<Batch> batches = TinyModel.batches(rnd, 7, 2, LEN);
    private final float decay = 0.5f + rnd.nextFloat() * 0.45f;

    /** Keeps a step count and one moment value per matrix to itself; only the state calls copy them in or out. */
    private final class StateApartEngine implements Engine {
        private final float[] moments;
        private long steps;
        /** Float, as the state tensors that carry it through a checkpoint. */
        private float lastLoss;

        StateApartEngine(LoraAdapters lora) {
            moments = new float[lora.names().size()];
        }

        /** The step's loss is a function of the state before the update the following optimizer step makes. */
        @Override
        public MeanLoss accumulateMeanLoss(List<Batch> microBatches) {
            return new MeanLoss(lastLoss, 1);
        }

        @Override
        public double optimizerStep(double learningRate) {
            steps++;
            double loss = steps;
            for (int t = 0; t < moments.length; t++) {
                moments[t] = decay * moments[t] + (t + 1) * (float) learningRate;
                loss += moments[t];
            }
            lastLoss = (float) loss;
            return 0;
        }

        @Override
        public MeanLoss meanLoss(Batch batch) {
            throw new UnsupportedOperationException("the test runs no evaluation");
        }

        @Override
        public void zeroGradients() {
            throw new UnsupportedOperationException("the test trains with SFT");
        }

        @Override
        public double[] referenceLogProbs(Batch batch) {
            throw new UnsupportedOperationException("the test trains with SFT");
        }

        @Override
        public double[] policyLogProbs(Batch batch) {
            throw new UnsupportedOperationException("the test trains with SFT");
        }

        @Override
        public void backwardLogProbs(double[] rowCoefficients) {
            throw new UnsupportedOperationException("the test trains with SFT");
        }

        @Override
        public void storeAdapters(LoraAdapters into) {}

        /** Loading adapters starts a fresh optimizer, as every engine's does. */
        @Override
        public void loadAdapters(LoraAdapters from) {
            steps = 0;
            Arrays.fill(moments, 0);
            lastLoss = 0;
        }

        @Override
        public void storeOptimizerState(OptimizerState into) {
            into.setSteps(steps);
            for (int t = 0; t < moments.length; t++) {
                into.firstMoments().get(t).fill(moments[t]);
                into.secondMoments().get(t).fill(lastLoss);
            }
        }

        @Override
        public void loadOptimizerState(OptimizerState from) {
            steps = from.steps();
            for (int t = 0; t < moments.length; t++) {
                moments[t] = from.firstMoments().get(t).get(0);
            }
            lastLoss = from.secondMoments().get(0).get(0);
        }

        @Override
        public String memoryReport() {
            return "nothing";
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
        Engine.Placement placement = spec -> new Engine.Factory() {
            @Override
            public Engine open() {
                return new StateApartEngine(lora);
            }

            @Override
            public String placement() {
                return "a test engine";
            }
        };
        Trainer<Batch> loop = Trainer.sft(placement, TinyModel.CONFIG, new TinyModel(seed, arena).weights, lora, LEN,
                a, new ListBatchSource<>(batches, true), null);
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

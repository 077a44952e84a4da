package org.jtune.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.jtune.model.Batch;
import org.jtune.model.Engine;
import org.jtune.model.EngineSpec;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelLoader;
import org.jtune.model.OptimizerSettings;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.Tensor;
import org.jtune.train.AdapterFiles;
import org.jtune.train.TrainResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fidelity command on the tiny shape on the CPU: the files it writes are the ones it trained on. Step 1's loss
 * in jtune.jsonl is recomputed from the files alone (model folder, PEFT adapter, batches read back) with a CPU engine
 * of its own; the first batch, the adapter as written and the model must all be the ones trained, as a different
 * batch or an adapter without its B matrices gives another loss.
 */
class FidelityRunTest {
    private static final FidelitySettings SETTINGS = FidelitySettings.defaults("tiny", 2, 3, 2, 24, 2);

    @Test
    void theFilesWrittenAreWhatTheTrainerTrainedOn(@TempDir Path dir) throws Exception {
        TrainResult result = FidelityRun.run(dir, SETTINGS, Backend.cpu("test"));
        FidelityLog.Contents log = FidelityLog.read(dir.resolve(FidelityRun.LOG));
        assertEquals(3, log.losses().length);
        assertEquals(result.lastEvalLoss(), log.evalLoss(), 0);
        assertEquals(SETTINGS, FidelitySettings.read(dir));

        FidelityBatches batches = FidelityBatches.read(dir);
        assertEquals(3, batches.train().size());
        assertEquals(2, batches.eval().size());
        Set<String> distinct = new HashSet<>();
        for (Batch b : batches.train()) {
            assertEquals(2, b.batchSize());
            assertEquals(24, b.seqLen());
            assertArrayEquals(b.tokens(), b.labels());
            for (int t : b.tokens()) {
                assertTrue(t >= 0 && t < 512, "token " + t + " outside the tiny vocabulary");
            }
            distinct.add(java.util.Arrays.toString(b.tokens()));
        }
        assertEquals(3, distinct.size(), "every step has a batch of its own");

        try (LoadedModel model = ModelLoader.load(dir.resolve(FidelityRun.MODEL), LoadOptions.asStored());
             Arena arena = Arena.ofShared()) {
            assertEquals(2, model.config().numLayers());
            LoraAdapters lora = AdapterFiles.load(dir.resolve(FidelityRun.ADAPTER), model.config(), arena);
            double stepOne = meanLoss(model, lora, batches.train().get(0));
            assertEquals(log.losses()[0], stepOne, 1e-5 * stepOne, "step 1 recomputed from the files");

            double otherBatch = meanLoss(model, lora, batches.train().get(1));
            assertTrue(Math.abs(otherBatch - stepOne) > 1e-4 * stepOne, "another batch gives another loss");
            for (String name : lora.names()) {
                if (name.endsWith("lora_B.weight")) {
                    lora.tensor(name).zero();
                }
            }
            double withoutB = meanLoss(model, lora, batches.train().get(0));
            assertTrue(Math.abs(withoutB - stepOne) > 1e-4 * stepOne, "the adapter's B matrices change the loss");
        }
    }

    @Test
    void theAdapterWrittenHoldsSmallRandomBMatrices(@TempDir Path dir) throws Exception {
        FidelityRun.run(dir, FidelitySettings.defaults("tiny", 1, 1, 1, 8, 1), Backend.cpu("test"));
        try (LoadedModel model = ModelLoader.load(dir.resolve(FidelityRun.MODEL), LoadOptions.asStored());
             Arena arena = Arena.ofConfined()) {
            LoraAdapters lora = AdapterFiles.load(dir.resolve(FidelityRun.ADAPTER), model.config(), arena);
            double sumSquares = 0;
            long count = 0;
            for (String name : lora.names()) {
                if (name.endsWith("lora_B.weight")) {
                    Tensor b = lora.tensor(name);
                    for (long i = 0; i < b.size(); i++) {
                        sumSquares += b.get(i) * (double) b.get(i);
                        count++;
                    }
                }
            }
            double std = Math.sqrt(sumSquares / count);
            assertEquals(SETTINGS.bInitStd(), std, 0.1 * SETTINGS.bInitStd(), "B ~ N(0, 0.01^2) over " + count);
        }
        assertTrue(Files.exists(dir.resolve(FidelityRun.MODEL).resolve("config.json")));
    }

    private static double meanLoss(LoadedModel model, LoraAdapters lora, Batch batch) {
        EngineSpec spec = new EngineSpec(model.config(), model.weights(), lora, batch.batchSize(), batch.seqLen(), 1,
                false, new OptimizerSettings(0.9, 0.999, 1e-8, 0, 1));
        try (Engine engine = Backend.cpu("test").trainingEngines(spec).open()) {
            return engine.meanLoss(batch).loss();
        }
    }
}

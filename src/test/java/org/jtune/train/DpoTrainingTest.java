package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.data.DemoDatasets;
import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
import org.jtune.data.PreferenceOptions;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.testing.ByteTokenizer;
import org.jtune.train.report.LossCurvePlot;
import org.jtune.train.report.MetricsFile;
import org.jtune.train.report.TrainingListener;
import org.junit.jupiter.api.AfterEach;
import org.jtune.parallel.Communicator;
import org.jtune.parallel.InProcessGroup;
import org.jtune.parallel.SingleCommunicator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DPO runs end to end on the WordNet-derived preference data, a byte-level tokenizer and a tiny random Llama. */
class DpoTrainingTest {
    /** These tests check the CPU engine\'s numbers: they train on the CPU even where a GPU is present. */
    private static final Backend CPU = Backend.cpu("test");
    private static final int PAIRS = 8, MAX_LENGTH = 80;
    private static final long WEIGHT_SEED = 20240611L, LORA_SEED = 3407L;
    private static final ModelConfig CONFIG = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 258,
             "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "max_position_embeddings": 128, "bos_token_id": 256, "eos_token_id": 257}""", "tiny byte llama");

    private final Arena arena = Arena.ofShared();

    @TempDir
    Path temp;

    @AfterEach
    void close() {
        arena.close();
    }

    /** The first {@code PAIRS} records of the demo preference data, tokenized byte by byte. */
    private PreferenceDataset demoPairs() throws IOException {
        Path all = DemoDatasets.DEFINITIONS_DPO.copyTo(temp.resolve("demo"));
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(all)), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null && lines.size() < PAIRS; line = in.readLine()) {
                lines.add(line);
            }
        }
        Path file = temp.resolve("pairs.jsonl");
        Files.write(file, lines);
        PreferenceDataset ds = PreferenceDataset.load(file, ByteTokenizer.create(),
                PreferenceOptions.defaults().withMaxLength(MAX_LENGTH));
        assertEquals(PAIRS, ds.size());
        return ds;
    }

    private TrainingArguments.Builder args(Path out) {
        return TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(4).gradientAccumulationSteps(1)
                .maxSteps(20).learningRate(2e-2).lrSchedulerType(LrSchedule.CONSTANT).warmupSteps(0).weightDecay(0)
                .evalSteps(10).saveSteps(0).seed(7).progressBar(false);
    }

    private record Run(List<TrainingListener.TrainLog> logs, List<TrainingListener.EvalLog> evals,
                       List<float[]> adapters) {}

    private Run run(TrainingArguments a, DpoArguments dpo, PreferenceDataset data, BatchSource<PreferenceBatch> train,
                    Path resumeFrom) throws IOException {
        return run(a, dpo, data, train, resumeFrom, SingleCommunicator.INSTANCE);
    }

    private Run run(TrainingArguments a, DpoArguments dpo, PreferenceDataset data, BatchSource<PreferenceBatch> train,
                    Path resumeFrom, Communicator communicator) throws IOException {
        ModelWeights weights = ModelWeights.load(CONFIG, RandomWeights.create(CONFIG, DType.F32, 0.2, WEIGHT_SEED,
                arena));
        LoraAdapters lora = new LoraAdapters(CONFIG, LoraConfig.allProjections(8, 16, false), arena);
        lora.initPeftDefault(LORA_SEED);
        List<TrainingListener.TrainLog> logs = new ArrayList<>();
        List<TrainingListener.EvalLog> evals = new ArrayList<>();
        Trainer<PreferenceBatch> trainer = Trainer.dpo(CPU, CONFIG, weights, lora, MAX_LENGTH, a, dpo, train, new PreferenceBatchSource(data, a.perDeviceTrainBatchSize(), false)).dataParallel(communicator);
        trainer.addListener(new TrainingListener() {
            @Override
            public void onLog(TrainLog log) {
                logs.add(log);
            }

            @Override
            public void onEval(EvalLog log) {
                evals.add(log);
            }
        });
        if (resumeFrom == null) {
            trainer.train();
        } else {
            trainer.resume(resumeFrom);
        }
        return new Run(logs, evals, lora.names().stream().map(n -> lora.tensor(n).toFloatArray()).toList());
    }

    /**
     * Eight steps (four epochs of the same eight pairs) at a high learning rate. With PEFT's init (B = 0) the policy
     * is the reference at step 1, so its margins, rewards and accuracy are exactly 0 and the sigmoid loss is ln 2.
     * DPO's gradient raises every pair's margin; these pairs are few and separable (their completions differ within
     * the kept tokens), so the eval over them afterwards must rank every chosen completion above its rejected one
     * with a clear margin. Fixed seeds: the run is the same on every machine.
     */
    @Test
    void dpoRaisesRewardAccuracyAndMargin() throws IOException {
        PreferenceDataset data = demoPairs();
        Run r = run(args(temp.resolve("out")).maxSteps(8).evalSteps(8).build(), DpoArguments.defaults(), data,
                new PreferenceBatchSource(data, 4, true), null);
        TrainingListener.TrainLog first = r.logs().get(0);
        assertEquals(Math.log(2), first.loss(), 1e-12);
        for (String metric : List.of("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")) {
            assertEquals(0.0, first.metrics().get(metric), 0.0, metric + " at step 1");
        }
        assertTrue(first.metrics().get("logps/chosen") < 0 && first.metrics().get("logps/rejected") < 0);
        TrainingListener.EvalLog end = r.evals().get(r.evals().size() - 1);
        assertEquals(8, end.step());
        assertEquals(1.0, end.metrics().get("rewards/accuracies"), 0.0, end.toString());
        assertTrue(end.metrics().get("rewards/margins") > 2, end.toString());
        assertTrue(end.loss() < 0.1, end.toString());
        assertEquals(end.metrics().get("rewards/margins"),
                end.metrics().get("rewards/chosen") - end.metrics().get("rewards/rejected"), 1e-9);

        List<JsonNode> lines = lines(temp.resolve("out").resolve(MetricsFile.FILE_NAME));
        assertEquals(9, lines.size(), "8 train lines and one eval line");
        assertTrue(lines.get(0).has("rewards/margins") && lines.get(0).has("logps/rejected"), lines.get(0).toString());
        assertTrue(lines.get(8).has("eval_rewards/accuracies") && lines.get(8).has("eval_loss"),
                lines.get(8).toString());
        assertTrue(Files.size(temp.resolve("out").resolve(LossCurvePlot.FILE_NAME)) > 0);
    }

    /**
     * Two workers of 2 pairs per step each train as one worker of 4 pairs: the same losses, TRL metrics, eval and
     * adapters within the rounding of the sum's order (see DataParallelTrainingTest for the tolerances).
     */
    @Test
    void twoWorkersTrainAsOneWithTheSameGlobalBatch() throws Exception {
        PreferenceDataset data = demoPairs();
        TrainingArguments.Builder b = args(null).perDeviceTrainBatchSize(2).maxSteps(4).evalSteps(2);
        Run one = run(b.gradientAccumulationSteps(2).build(), DpoArguments.defaults(), data,
                new PreferenceBatchSource(data, 2, true), null);
        TrainingArguments perWorker = b.gradientAccumulationSteps(1).build();
        List<Run> two = assertTimeoutPreemptively(Duration.ofMinutes(2), () -> InProcessGroup.run(2,
                c -> run(perWorker, DpoArguments.defaults(), data, new PreferenceBatchSource(data, 2, true), null, c)));
        assertEquals(4, one.logs().size());
        assertEquals(2, one.evals().size());
        for (Run r : two) {
            for (int i = 0; i < 4; i++) {
                TrainingListener.TrainLog x = one.logs().get(i), y = r.logs().get(i);
                assertClose(x.loss(), y.loss(), "loss, step " + (i + 1));
                assertEquals(x.tokens(), y.tokens());
                x.metrics().forEach((name, v) -> assertClose(v, y.metrics().get(name), name + ", step " + x.step()));
            }
            for (int i = 0; i < 2; i++) {
                TrainingListener.EvalLog x = one.evals().get(i), y = r.evals().get(i);
                assertClose(x.loss(), y.loss(), "eval loss " + i);
                assertEquals(x.labelledTokens(), y.labelledTokens());
                x.metrics().forEach((name, v) -> assertClose(v, y.metrics().get(name), "eval " + name));
            }
            for (int t = 0; t < one.adapters().size(); t++) {
                float[] p = one.adapters().get(t), q = r.adapters().get(t);
                for (int i = 0; i < p.length; i++) {
                    assertEquals(p[i], q[i], 1e-5f, "matrix " + t + " entry " + i);
                }
            }
        }
    }

    /** 1e-5 relative, or absolute for values below 1 (the metrics of step 1 are exactly 0). */
    private static void assertClose(double expected, double actual, String what) {
        assertTrue(Math.abs(expected - actual) <= 1e-5 * Math.max(1, Math.abs(expected)),
                what + ": one worker " + expected + ", two " + actual);
    }

    @Test
    void precomputedReferenceTrainsAsTheInStepOne() throws IOException {
        PreferenceDataset data = demoPairs();
        TrainingArguments a = args(null).maxSteps(4).evalSteps(4).build();
        Run inStep = run(a, DpoArguments.defaults(), data, new PreferenceBatchSource(data, 4, true), null);
        Run precomputed = run(a, DpoArguments.defaults().withPrecomputeRefLogProbs(true), data,
                new PreferenceBatchSource(data, 4, true), null);
        for (int i = 0; i < 4; i++) {
            TrainingListener.TrainLog x = inStep.logs().get(i), y = precomputed.logs().get(i);
            assertEquals(x.loss(), y.loss(), 1e-9 * Math.abs(x.loss()), "step " + (i + 1));
            x.metrics().forEach((k, v) -> assertEquals(v, y.metrics().get(k), 1e-6 * (1 + Math.abs(v)), k));
        }
        assertEquals(inStep.evals().get(0).loss(), precomputed.evals().get(0).loss(), 1e-9);
        for (int t = 0; t < inStep.adapters().size(); t++) {
            assertArrayEquals(inStep.adapters().get(t), precomputed.adapters().get(t), 1e-6f, "matrix " + t);
        }
    }

    /** Throws at the given call of state(), as a crash while writing a checkpoint would stop the run there. */
    private static final class CrashWhileSaving implements BatchSource<PreferenceBatch> {
        private final BatchSource<PreferenceBatch> inner;
        private final int crashAt;
        private int calls;

        CrashWhileSaving(BatchSource<PreferenceBatch> inner, int crashAt) {
            this.inner = inner;
            this.crashAt = crashAt;
        }

        @Override
        public void startEpoch(int epoch, long seed) {
            inner.startEpoch(epoch, seed);
        }

        @Override
        public PreferenceBatch next() {
            return inner.next();
        }

        @Override
        public long batchesPerEpoch() {
            return inner.batchesPerEpoch();
        }

        @Override
        public String state() {
            if (++calls == crashAt) {
                throw new IllegalStateException("simulated crash while saving");
            }
            return inner.state();
        }

        @Override
        public void restore(String state) {
            inner.restore(state);
        }
    }

    /**
     * A run whose save at step 6 fails, resumed from checkpoint-3 (the end of epoch 1: 3 batches of 3, 3 and 2
     * pairs) and from checkpoint-4 (inside epoch 2), gives the uninterrupted run bit for bit: adapters, logged
     * numbers and metrics lines. IPO with a precomputed reference, which the resumed run computes again.
     */
    @Test
    void resumedRunEqualsTheUninterruptedOneBitForBit() throws IOException {
        PreferenceDataset data = demoPairs();
        DpoArguments dpo = DpoArguments.defaults().withLossType(DpoLossType.IPO).withPrecomputeRefLogProbs(true);
        TrainingArguments.Builder a = args(null).maxSteps(6).saveSteps(1).evalSteps(2)
                .lrSchedulerType(LrSchedule.COSINE).warmupSteps(1).perDeviceTrainBatchSize(3);
        Path wholeDir = temp.resolve("whole");
        Run whole = run(a.outputDir(wholeDir).build(), dpo, data, new PreferenceBatchSource(data, 3, true), null);
        List<JsonNode> wholeLines = lines(wholeDir.resolve(MetricsFile.FILE_NAME));
        for (int from : new int[] {3, 4}) {
            Path cutDir = temp.resolve("cut" + from);
            assertThrows(IllegalStateException.class, () -> run(a.outputDir(cutDir).build(), dpo, data,
                    new CrashWhileSaving(new PreferenceBatchSource(data, 3, true), 6), null));
            assertEquals("checkpoint-5", TrainingCheckpoint.latest(cutDir).orElseThrow().getFileName().toString());
            Run resumed = run(a.outputDir(cutDir).build(), dpo, data, new PreferenceBatchSource(data, 3, true),
                    cutDir.resolve("checkpoint-" + from));
            assertEquals(numbers(whole.logs().subList(from, 6)), numbers(resumed.logs()), "from step " + from);
            for (int t = 0; t < whole.adapters().size(); t++) {
                assertArrayEquals(whole.adapters().get(t), resumed.adapters().get(t), 0f, "matrix " + t);
            }
            List<JsonNode> cutLines = lines(cutDir.resolve(MetricsFile.FILE_NAME));
            assertEquals(wholeLines.size(), cutLines.size());
            for (int i = 0; i < wholeLines.size(); i++) {
                assertEquals(withoutSpeed(wholeLines.get(i)), withoutSpeed(cutLines.get(i)), "metrics line " + i);
            }
        }
    }

    @Test
    void resumeRefusesOtherDpoSettings() throws IOException {
        PreferenceDataset data = demoPairs();
        Path out = temp.resolve("a");
        TrainingArguments a = args(out).maxSteps(2).saveSteps(2).evalSteps(0).build();
        run(a, DpoArguments.defaults(), data, new PreferenceBatchSource(data, 4, true), null);
        for (DpoArguments other : List.of(DpoArguments.defaults().withBeta(0.2),
                DpoArguments.defaults().withLossType(DpoLossType.HINGE))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(a, other, data,
                    new PreferenceBatchSource(data, 4, true), out.resolve("checkpoint-2")));
            assertTrue(e.getMessage().contains("checkpoint-2") && e.getMessage().contains("objective"),
                    e.getMessage());
        }
    }

    private static List<List<Object>> numbers(List<TrainingListener.TrainLog> logs) {
        return logs.stream().map(l -> List.<Object>of(l.step(), l.epoch(), l.loss(), l.gradNorm(), l.learningRate(),
                l.metrics())).toList();
    }

    private static JsonNode withoutSpeed(JsonNode line) {
        ObjectNode copy = line.deepCopy();
        copy.remove("tokens_per_second");
        return copy;
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(json.readTree(line));
        }
        return out;
    }
}

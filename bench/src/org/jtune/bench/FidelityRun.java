package org.jtune.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.jtune.model.Batch;
import org.jtune.model.Engine;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelLoader;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.Tensor;
import org.jtune.train.AdapterFiles;
import org.jtune.train.ListBatchSource;
import org.jtune.train.LrSchedule;
import org.jtune.train.TrainResult;
import org.jtune.train.Trainer;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.TrainingListener;

/**
 * {@code jtune-bench fidelity --out DIR [--shape llama-3-8b|llama-2-7b|mistral-7b|tiny] [--steps 200] [--layers N]
 * [--rows 2] [--seq-len 512] [--eval-batches 4]}: the jtune side of the fidelity run. Writes into DIR what both
 * sides read (fidelity.json with the shared settings, model/ a random-weight bf16 model folder, adapter/ the
 * initial adapter as a PEFT folder, batches.safetensors), then trains the adapter with jtune's trainer where the
 * backend places it (the GPU where there is one), reading the model, adapter and batches back from those files,
 * and logs every step's loss and the final eval loss to DIR/jtune.jsonl. bench/peer/fidelity_peer.py DIR then
 * trains the same with transformers + PEFT, and {@code jtune-bench fidelity-report DIR} compares them.
 */
final class FidelityRun {
    static final String MODEL = "model", ADAPTER = "adapter", LOG = "jtune.jsonl";

    private FidelityRun() {}

    static void main(String[] args) throws IOException {
        Path dir = null;
        String shape = "llama-3-8b";
        Integer layers = null;
        int steps = 200, rows = 2, seqLength = 512, evalBatches = 4;
        Double lr = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            switch (args[i++]) {
                case "--out" -> dir = Path.of(value);
                case "--shape" -> shape = value;
                case "--layers" -> layers = positive("--layers", value);
                case "--steps" -> steps = positive("--steps", value);
                case "--rows" -> rows = positive("--rows", value);
                case "--seq-len" -> seqLength = positive("--seq-len", value);
                case "--eval-batches" -> evalBatches = positive("--eval-batches", value);
                case "--lr" -> lr = learningRate(value);
                default -> throw new IllegalArgumentException("unknown argument " + args[i - 1] + "; usage: fidelity"
                        + " --out DIR [--shape SHAPE] [--steps N] [--layers N] [--rows N] [--seq-len N]"
                        + " [--eval-batches N] [--lr RATE]");
            }
        }
        if (dir == null) {
            throw new IllegalArgumentException("fidelity needs --out DIR");
        }
        FidelitySettings settings = FidelitySettings.defaults(shape, layers == null
                ? FidelityShapes.defaultLayers(shape) : layers, steps, rows, seqLength, evalBatches);
        if (lr != null) {
            settings = settings.withLearningRate(lr);
        }
        TrainResult result = run(dir, settings);
        System.out.printf("jtune: %d steps, final eval loss %.5f; log in %s%n", result.globalStep(),
                result.lastEvalLoss(), dir.resolve(LOG));
    }

    private static double learningRate(String value) {
        try {
            double v = Double.parseDouble(value);
            if (v > 0 && Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("--lr needs a positive number, got \"" + value + "\"");
    }

    private static int positive(String option, String value) {
        int v;
        try {
            v = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got \"" + value + "\"");
        }
        if (v < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, got " + v);
        }
        return v;
    }

    /** Writes the shared files into {@code dir}, then trains where the backend places it; see the class comment. */
    static TrainResult run(Path dir, FidelitySettings s) throws IOException {
        return run(dir, s, Backend.choose());
    }

    /** As {@link #run(Path, FidelitySettings)}, training where {@code placement} puts the engine. */
    static TrainResult run(Path dir, FidelitySettings s, Engine.Placement placement) throws IOException {
        String configJson = FidelityShapes.configJson(s.shape(), s.layers());
        Files.createDirectories(dir);
        s.write(dir);
        long start = System.nanoTime();
        ModelConfig config = FidelityModelFolder.write(dir.resolve(MODEL), configJson, s.seed());
        System.out.printf("wrote the random %s model (%d layers) in %.1f s%n", s.shape(), s.layers(),
                (System.nanoTime() - start) / 1e9);
        try (Arena arena = Arena.ofConfined()) {
            AdapterFiles.save(initialAdapters(config, s, arena), config, dir.resolve(ADAPTER),
                    dir.resolve(MODEL).toAbsolutePath().toString());
        }
        FidelityBatches.generate(s, config.vocabSize(), s.seed() + 1).write(dir);
        return train(dir, s, placement);
    }

    /**
     * jtune's initialisation (PEFT's default for A, {@link LoraAdapters#initPeftDefault}) with B ~ N(0, bInitStd²)
     * instead of 0: see {@link FidelitySettings#defaults}.
     */
    static LoraAdapters initialAdapters(ModelConfig config, FidelitySettings s, Arena arena) {
        LoraAdapters lora = new LoraAdapters(config, loraConfig(s), arena);
        lora.initPeftDefault(s.seed());
        SplittableRandom random = new SplittableRandom(s.seed() + 2);
        for (String name : lora.names()) {
            if (name.endsWith("lora_B.weight")) {
                Tensor b = lora.tensor(name);
                for (long i = 0; i < b.size(); i++) {
                    b.set(i, (float) (s.bInitStd() * random.nextGaussian()));
                }
            }
        }
        return lora;
    }

    static LoraConfig loraConfig(FidelitySettings s) {
        return LoraConfig.allProjections(s.loraRank(), s.loraAlpha(), false);
    }

    static TrainingArguments trainingArguments(FidelitySettings s) {
        return TrainingArguments.builder().perDeviceTrainBatchSize(s.rows())
                .gradientAccumulationSteps(s.gradientAccumulationSteps()).maxSteps(s.steps())
                .learningRate(s.learningRate()).lrSchedulerType(LrSchedule.fromName(s.lrSchedule())).warmupSteps(0)
                .weightDecay(s.weightDecay()).adamBeta1(s.adamBeta1()).adamBeta2(s.adamBeta2())
                .adamEpsilon(s.adamEpsilon()).maxGradNorm(s.maxGradNorm()).seed(s.seed()).loggingSteps(1)
                .evalSteps(s.steps()).saveSteps(0).gradientCheckpointing(s.gradientCheckpointing())
                .progressBar(false).build();
    }

    /** Trains from the files in {@code dir} (model, adapter, batches: as the peer reads them), logging to jtune.jsonl. */
    private static TrainResult train(Path dir, FidelitySettings s, Engine.Placement placement) throws IOException {
        FidelityBatches batches = FidelityBatches.read(dir);
        try (LoadedModel model = ModelLoader.load(dir.resolve(MODEL), LoadOptions.asStored());
             Arena arena = Arena.ofShared()) { // the CPU engine reads the adapters from worker threads
            ModelConfig config = model.config();
            LoraAdapters lora = AdapterFiles.load(dir.resolve(ADAPTER), config, arena);
            Trainer<Batch> trainer = Trainer.sft(placement, config, model.weights(), lora, s.seqLength(),
                    trainingArguments(s), new ListBatchSource<>(batches.train(), false),
                    new ListBatchSource<>(batches.eval(), false));
            System.out.println("jtune trains on " + trainer.placement());
            ObjectNode run = FidelityLog.object().put("side", "jtune").put("placement", trainer.placement())
                    .put("commit", System.getenv().getOrDefault("JTUNE_COMMIT", "unknown"));
            try (FidelityLog log = FidelityLog.create(dir.resolve(LOG), run)) {
                trainer.addListener(new Logging(log, System.nanoTime()));
                return trainer.train();
            }
        }
    }

    /** Writes each step and the evaluation to the log; prints progress every 10 steps. */
    private record Logging(FidelityLog log, long start) implements TrainingListener {
        @Override
        public void onLog(TrainLog l) {
            try {
                log.step(l.step(), l.loss(), l.gradNorm(), l.learningRate());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void onStep(StepProgress p) {
            if (p.step() % 10 == 0 || p.step() == 1 || p.step() == p.totalSteps()) {
                System.out.printf("step %d/%d loss %.5f (%.0f tokens/s, %.0f s)%n", p.step(), p.totalSteps(),
                        p.loss(), p.tokensPerSecond(), (System.nanoTime() - start) / 1e9);
            }
        }

        @Override
        public void onEval(EvalLog e) {
            try {
                log.eval(e.loss(), e.labelledTokens());
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            System.out.printf("eval loss %.5f over %d tokens%n", e.loss(), e.labelledTokens());
        }
    }
}

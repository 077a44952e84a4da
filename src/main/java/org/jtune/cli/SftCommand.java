package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.api.LanguageModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.api.SftTrainer;
import org.jtune.train.BatchSource;
import org.jtune.model.Batch;
import org.jtune.api.BackendChoice;
import org.jtune.data.DemoDatasets;
import org.jtune.data.SftDataset;
import org.jtune.data.SftOptions;
import org.jtune.model.ModelConfig;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.ProgressBar;
import org.jtune.train.SftBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.TrainingListener;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code sft}: loads a model folder and its tokenizer, reads and tokenizes the data, trains LoRA adapters with
 * progress, metrics, checkpoints and a loss curve, and saves the adapter. Without {@code --model} it runs the demo
 * ({@link DemoModel} on the shipped definitions dataset) and shows a sample answer before and after training.
 */
final class SftCommand implements Main.Command {
    static final String ADAPTER_FOLDER = "adapter";

    @Override
    public String summary() {
        return "fine-tune LoRA adapters on a dataset (no --model: a one-minute demo on a tiny model)";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed parsed = SftSettings.PARSER.parse(args);
        if (parsed.help()) {
            SftSettings.PARSER.printHelp(out);
            return 0;
        }
        SftSettings s = SftSettings.from(parsed);
        long start = System.nanoTime();
        BackendChoice backend = BackendChoice.choose();
        Path modelDir = s.model();
        List<Path> data = s.data();
        if (s.demo()) {
            DemoRun.explain(out);
            modelDir = s.output().resolve(DemoRun.MODEL_FOLDER);
            if (!s.resume()) {
                DemoRun.clearPreviousRun(s.output(), out);
            }
            DemoModel.write(modelDir);
            data = List.of(DemoDatasets.DEFINITIONS_SFT.copyTo(s.output().resolve(DemoRun.DATA_FOLDER)));
        } else if (!s.resume()) {
            refuseOldCheckpoints(s.output());
        }
        try (Pretrained pretrained = FastLanguageModel.fromPretrained(modelDir, s.maxSeqLength(), s.loadIn4bit())) {
            LanguageModel model = pretrained.model();
            Tokenizer tokenizer = pretrained.tokenizer();
            out.println("model: " + modelDir + " (" + describe(model.config()) + ")");
            out.println("  " + pretrained.memory().line());

            SftDataset all = SftDataset.load(data, tokenizer, dataOptions(s, tokenizer));
            out.println("data: " + all.report());
            SftDataset train = all, eval = null;
            if (s.evalSplit() > 0) {
                EvalSplit split = EvalSplit.of(all, s.evalSplit(), s.training().seed());
                train = split.train();
                eval = split.eval();
                out.printf(Locale.ROOT, "  %d examples to train on, %d held out for evaluation%n", train.size(),
                        eval.size());
            }
            int rows = s.training().perDeviceTrainBatchSize();
            SftBatchSource trainSource = new SftBatchSource(train, rows, s.packing(), true);
            SftBatchSource evalSource = eval == null ? null : new SftBatchSource(eval, rows, s.packing(), false);
            TrainingArguments training = withEvalSteps(s, trainSource);

            try (PeftModel peft = FastLanguageModel.getPeftModel(model, s.loraR(), s.targetModules(), s.loraAlpha(),
                    0, training.seed(), s.rslora())) {
                out.printf(Locale.ROOT, "LoRA: r %d, alpha %s%s on %s: %,d trainable parameters%n", s.loraR(),
                        number(s.loraAlpha()), s.rslora() ? " (rsLoRA)" : "", String.join(", ", s.targetModules()),
                        peft.adapters().names().stream().mapToLong(n -> peft.adapters().tensor(n).size()).sum());
                out.printf(Locale.ROOT, "training: %d steps of %d x %d rows (%s), lr %s %s, warmup %s%n",
                        totalSteps(training, trainSource), rows, training.gradientAccumulationSteps(),
                        s.packing() ? "packed" : "padded", number(training.learningRate()),
                        training.lrSchedulerType().hfName(), training.warmupSteps() > 0
                                ? training.warmupSteps() + " steps" : "ratio " + number(training.warmupRatio()));
                DemoRun.Sample sample = s.demo() ? DemoRun.Sample.first(data.get(0), tokenizer) : null;
                if (sample != null) {
                    sample.show("before training (the random base model alone)", peft, out);
                }
                LossSummary losses = new LossSummary();
                TrainResult result = trainer(peft, trainSource, evalSource, training, backend, out)
                        .addListener(new ProgressBar(out, out == System.out && isTerminal()))
                        .addListener(losses)
                        .train(s.resume());
                Path adapter = s.output().resolve(ADAPTER_FOLDER);
                peft.saveAdapter(adapter, modelDir.toAbsolutePath().toString());
                ModelFiles.copyTokenizerFiles(modelDir, adapter);
                losses.print(out);
                if (sample != null) {
                    sample.show("after training", peft, out);
                }
                out.printf(Locale.ROOT, "done: %d steps in %.0f s%n", result.globalStep(),
                        (System.nanoTime() - start) / 1e9);
                out.println("  adapter:    " + adapter);
                if (result.lastCheckpoint() != null) {
                    out.println("  checkpoint: " + result.lastCheckpoint());
                }
                out.println("  metrics:    " + s.output().resolve("metrics.jsonl"));
                out.println("  loss curve: " + s.output().resolve("loss_curve.png"));
                out.println("merge it into the base model with: java -jar jtune.jar merge --adapter " + adapter
                        + " --output " + s.output().resolve("merged"));
            }
        }
        return 0;
    }

    /**
     * The trainer on the chosen backend. Where the GPU step cannot run the model (e.g. a head size its attention
     * kernels do not have), it says why and trains on the CPU.
     */
    private static SftTrainer trainer(PeftModel peft, BatchSource<Batch> train, BatchSource<Batch> eval,
                                      TrainingArguments args, BackendChoice backend, PrintStream out) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (backend.isCuda()) {
            try {
                SftTrainer trainer = new SftTrainer(peft, train, eval, args, backend);
                out.println("training on the GPU (" + backend.reason() + ")");
                return trainer;
            } catch (IllegalArgumentException e) {
                out.println("the GPU step cannot run this model (" + e.getMessage() + "): training on the CPU, "
                        + cores + " cores");
                return new SftTrainer(peft, train, eval, args, BackendChoice.cpu("the GPU step cannot run this model"));
            }
        }
        out.println("training on the CPU, " + cores + " cores (" + backend.reason() + ")");
        return new SftTrainer(peft, train, eval, args, backend);
    }

    private static boolean isTerminal() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** A fresh run in a folder that holds another run's checkpoints would mix the two: refuse. */
    private static void refuseOldCheckpoints(Path output) throws IOException {
        List<String> found = ModelFiles.checkpoints(output);
        if (!found.isEmpty()) {
            throw new IllegalStateException(output + " already holds checkpoints of a run (" + String.join(", ", found)
                    + "): add --resume to continue it, or give another --output");
        }
    }

    private static SftOptions dataOptions(SftSettings s, Tokenizer tokenizer) {
        return SftOptions.defaults()
                .withFormat(s.format())
                .withChatTemplate(s.template() == null ? null : ChatTemplate.of(s.template(), tokenizer.config()))
                .withTrainOnAllTokens(s.trainOnAllTokens())
                .withMaxLength(s.maxSeqLength())
                .withSkipBadRecords(s.skipBadRecords());
    }

    /** The training arguments, evaluating ten times over the run unless --eval-steps says otherwise. */
    private static TrainingArguments withEvalSteps(SftSettings s, SftBatchSource train) {
        long every = s.evalSteps() > 0 ? s.evalSteps() : Math.max(1, (totalSteps(s.training(), train) + 9) / 10);
        return s.training().toBuilder().evalSteps(every).build();
    }

    /** As the trainer counts them: max steps, else epochs x ceil(batches / accumulation). */
    private static long totalSteps(TrainingArguments a, SftBatchSource train) {
        if (a.maxSteps() > 0) {
            return a.maxSteps();
        }
        long accum = a.gradientAccumulationSteps();
        return Math.max(1, (train.batchesPerEpoch() + accum - 1) / accum) * a.numTrainEpochs();
    }

    private static String describe(ModelConfig c) {
        return String.format(Locale.ROOT, "%s, %d layers, hidden %d, vocabulary %d", c.architecture(), c.numLayers(),
                c.hiddenSize(), c.vocabSize());
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? String.valueOf((long) v) : String.valueOf(v);
    }

    /** The logged training losses and the evaluations, summed up at the end: does the loss fall? */
    private static final class LossSummary implements TrainingListener {
        private final List<TrainLog> logs = new ArrayList<>();
        private final List<EvalLog> evals = new ArrayList<>();

        @Override
        public void onLog(TrainLog log) {
            logs.add(log);
        }

        @Override
        public void onEval(EvalLog log) {
            evals.add(log);
        }

        void print(PrintStream out) {
            if (logs.isEmpty()) {
                return;
            }
            TrainLog first = logs.getFirst(), last = logs.getLast();
            out.printf(Locale.ROOT, "training loss: %.4f at step %d -> %.4f at step %d%n", first.loss(), first.step(),
                    last.loss(), last.step());
            if (!evals.isEmpty()) {
                out.printf(Locale.ROOT, "eval loss:     %.4f at step %d -> %.4f at step %d%n", evals.getFirst().loss(),
                        evals.getFirst().step(), evals.getLast().loss(), evals.getLast().step());
            }
        }
    }
}

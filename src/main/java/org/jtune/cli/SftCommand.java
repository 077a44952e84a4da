package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.api.LanguageModel;
import org.jtune.api.LoraOptions;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.api.SftTrainer;
import org.jtune.data.DemoDatasets;
import org.jtune.data.SftDataset;
import org.jtune.data.SftOptions;
import org.jtune.model.Batch;
import org.jtune.model.backend.Backend;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.BatchSource;
import org.jtune.train.SftBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.ProgressBar;
import org.jtune.train.report.TrainingListener;

import org.jtune.train.report.TensorBoardWriter;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code sft}: loads a model folder and its tokenizer, reads and tokenizes the data, trains LoRA adapters with
 * progress, metrics, checkpoints and a loss curve, and saves the adapter. Without {@code --model} it runs the demo
 * ({@link DemoModel} on the shipped definitions dataset) and shows a sample answer before and after training.
 */
final class SftCommand implements Main.Command {
    @Override
    public String summary() {
        return "fine-tune LoRA adapters on a dataset (no --model: a one-minute demo on a tiny model)";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed parsed = SftSettings.PARSER.parseOrHelp(args, out);
        if (parsed == null) {
            return 0;
        }
        WorkerCount.requireOne(parsed, System.getenv());
        SftSettings s = SftSettings.from(parsed);
        long start = System.nanoTime();
        Backend backend = Backend.choose();
        RunReport.Inputs inputs = RunReport.inputs(s.model(), s.data(), s.output(), s.resume(), s.overwriteOutputDir(),
                DemoDatasets.DEFINITIONS_SFT, DemoRun::explain, out);
        Path modelDir = inputs.modelDir();
        List<Path> data = inputs.data();
        int maxLength = RunReport.cappedLength(modelDir, s.maxSeqLength(), out);
        try (Pretrained pretrained = FastLanguageModel.fromPretrained(modelDir, maxLength, s.loadIn4bit())) {
            LanguageModel model = pretrained.model();
            Tokenizer tokenizer = pretrained.tokenizer();
            RunReport.printModel(inputs, pretrained, out);

            SftDataset all = SftDataset.load(data, tokenizer, dataOptions(s, tokenizer).withMaxLength(maxLength));
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
            TrainingArguments training = RunReport.withEvalSteps(s.training(), s.evalSteps(),
                    trainSource.batchesPerEpoch());

            try (PeftModel peft = FastLanguageModel.getPeftModel(model, LoraOptions.defaults().withR(s.loraR())
                    .withTargetModules(s.targetModules()).withLoraAlpha(s.loraAlpha())
                    .withRandomState(training.seed()).withRslora(s.rslora()))) {
                RunReport.printLora(peft, s.loraR(), s.loraAlpha(), s.rslora(), s.targetModules(), out);
                out.printf(Locale.ROOT, "training: %s of %d x %d rows (%s), %s%n",
                        RunReport.count(RunReport.totalSteps(training, trainSource.batchesPerEpoch()), "step"), rows,
                        training.gradientAccumulationSteps(), s.packing() ? "packed" : "padded",
                        RunReport.schedule(training));
                DemoRun.Sample sample = s.demo() ? DemoRun.Sample.first(data.get(0), tokenizer) : null;
                if (sample != null) {
                    sample.show("before training (the random base model alone)", peft, out);
                }
                RunLogs logs = new RunLogs();
                TrainResult result = trainer(peft, trainSource, evalSource, training, backend, out)
                        .addListener(new ProgressBar(out, out == System.out && RunReport.isTerminal()))
                        .addListener(logs)
                        .addListener(s.tensorBoard() ? TensorBoardWriter.create(s.output().resolve(
                                TensorBoardWriter.FOLDER)) : new TrainingListener() {})
                        .train(s.resume());
                Path adapter = RunReport.saveAdapter(peft, inputs, s.output());
                printLosses(logs, out);
                if (sample != null) {
                    sample.show("after training", peft, out);
                }
                RunReport.printDone(result, start, s.output(), adapter, out);
            }
        }
        return 0;
    }

    /** The trainer on the chosen backend, saying where it runs. */
    private static SftTrainer trainer(PeftModel peft, BatchSource<Batch> train, BatchSource<Batch> eval,
                                      TrainingArguments args, Backend backend, PrintStream out) {
        SftTrainer trainer = new SftTrainer(peft, train, eval, args, backend);
        out.println("training on " + trainer.placement());
        return trainer;
    }

    private static SftOptions dataOptions(SftSettings s, Tokenizer tokenizer) {
        return SftOptions.defaults()
                .withFormat(s.format())
                .withChatTemplate(s.template() == null ? null : ChatTemplate.of(s.template(), tokenizer.config()))
                .withTrainOnAllTokens(s.trainOnAllTokens())
                .withMaxLength(s.maxSeqLength())
                .withSkipBadRecords(s.skipBadRecords())
                .withReadLimits(s.readLimits());
    }

    /** The logged training losses and the evaluations, summed up at the end: does the loss fall? */
    private static void printLosses(RunLogs run, PrintStream out) {
        if (run.logs().isEmpty()) {
            return;
        }
        TrainingListener.TrainLog first = run.logs().getFirst(), last = run.logs().getLast();
        RunReport.printChange(out, "training loss", first.loss(), first.step(), last.loss(), last.step());
        if (!run.evals().isEmpty()) {
            TrainingListener.EvalLog a = run.evals().getFirst(), b = run.evals().getLast();
            RunReport.printChange(out, "eval loss", a.loss(), a.step(), b.loss(), b.step());
        }
    }
}

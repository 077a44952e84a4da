package org.jtune.cli;

import org.jtune.api.DpoTrainer;
import org.jtune.api.FastLanguageModel;
import org.jtune.api.LoraOptions;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.data.DemoDatasets;
import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
import org.jtune.data.PreferenceOptions;
import org.jtune.data.PreferencePair;
import org.jtune.model.backend.Backend;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.BatchSource;
import org.jtune.train.DpoArguments;
import org.jtune.train.PreferenceBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.jtune.train.report.ProgressBar;
import org.jtune.train.report.TrainingListener;

import org.jtune.train.report.TensorBoardWriter;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code dpo}: loads a model folder and its tokenizer, reads and tokenizes preference pairs, trains LoRA adapters
 * with DPO (the reference is the base with the adapters off) with progress, metrics, checkpoints and a loss curve,
 * and saves the adapter. Without {@code --model} it runs the demo on the shipped WordNet preference pairs.
 */
final class DpoCommand implements Main.Command {
    /**
     * The pairs the demo trains on. A random base cannot tell a word's definition from another's on pairs it has
     * not seen, so the demo takes a few pairs several times over: the adapters learn which answer of each is chosen.
     */
    static final int DEMO_PAIRS = 64;
    static final String ACCURACIES = "rewards/accuracies", MARGINS = "rewards/margins";

    @Override
    public String summary() {
        return "preference-tune LoRA adapters with DPO (no --model: a demo on a tiny model)";
    }

    @Override
    public int run(String[] args, PrintStream out) throws IOException {
        OptionParser.Parsed parsed = DpoSettings.PARSER.parseOrHelp(args, out);
        if (parsed == null) {
            return 0;
        }
        WorkerCount.requireOne(parsed, System.getenv());
        DpoSettings s = DpoSettings.from(parsed);
        long start = System.nanoTime();
        Backend backend = Backend.choose();
        RunReport.Inputs inputs = RunReport.inputs(s.model(), s.data(), s.output(), s.resume(), s.overwriteOutputDir(),
                DemoDatasets.DEFINITIONS_DPO, DemoRun::explainDpo, out);
        Path modelDir = inputs.modelDir();
        int maxLength = RunReport.cappedLength(modelDir, s.maxLength(), out);
        try (Pretrained pretrained = FastLanguageModel.fromPretrained(modelDir, maxLength, s.loadIn4bit())) {
            Tokenizer tokenizer = pretrained.tokenizer();
            RunReport.printModel(inputs, pretrained, out);

            PreferenceDataset all = PreferenceDataset.load(inputs.data(), tokenizer, dataOptions(s, tokenizer).withMaxLength(maxLength));
            out.println("data: " + all.report());
            PreferenceDataset train = s.demo() ? firstPairs(all, DEMO_PAIRS) : all, eval = null;
            if (s.demo()) {
                out.println("  the demo trains on the first " + DEMO_PAIRS + " pairs, "
                        + s.training().numTrainEpochs() + " times over");
            }
            if (s.evalSplit() > 0) {
                boolean[] heldOut = EvalSplit.heldOut(all.size(), s.evalSplit(), s.training().seed());
                List<PreferencePair> trainPairs = new ArrayList<>(), evalPairs = new ArrayList<>();
                for (int i = 0; i < heldOut.length; i++) {
                    (heldOut[i] ? evalPairs : trainPairs).add(all.pair(i));
                }
                train = PreferenceDataset.of(trainPairs, all.specialTokens());
                eval = PreferenceDataset.of(evalPairs, all.specialTokens());
                out.printf(Locale.ROOT, "  %d pairs to train on, %d held out for evaluation%n", train.size(),
                        eval.size());
            }
            int pairs = s.training().perDeviceTrainBatchSize();
            PreferenceBatchSource trainSource = new PreferenceBatchSource(train, pairs, true);
            PreferenceBatchSource evalSource = eval == null ? null : new PreferenceBatchSource(eval, pairs, false);
            TrainingArguments training = RunReport.withEvalSteps(s.training(), s.evalSteps(),
                    trainSource.batchesPerEpoch());

            try (PeftModel peft = FastLanguageModel.getPeftModel(pretrained.model(), LoraOptions.defaults()
                    .withR(s.loraR()).withTargetModules(s.targetModules()).withLoraAlpha(s.loraAlpha())
                    .withRandomState(training.seed()).withRslora(s.rslora()))) {
                RunReport.printLora(peft, s.loraR(), s.loraAlpha(), s.rslora(), s.targetModules(), out);
                out.printf(Locale.ROOT, "training: %s of %d x %d pairs, %s; DPO: %s loss, beta %s%s%s%n",
                        RunReport.count(RunReport.totalSteps(training, trainSource.batchesPerEpoch()), "step"), pairs,
                        training.gradientAccumulationSteps(), RunReport.schedule(training),
                        s.dpo().lossType().trlName(), RunReport.number(s.dpo().beta()),
                        s.dpo().labelSmoothing() > 0 ? ", label smoothing " + s.dpo().labelSmoothing() : "",
                        s.dpo().precomputeRefLogProbs() ? ", reference log-probs precomputed" : "");
                DemoRun.Sample sample = s.demo()
                        ? DemoRun.Sample.firstPair(inputs.data().get(0), all.pair(0), tokenizer) : null;
                if (sample != null) {
                    sample.show("before training (the random base model alone)", peft, out);
                }
                RunLogs logs = new RunLogs();
                TrainResult result = trainer(peft, trainSource, evalSource, training, s.dpo(), backend, out)
                        .addListener(new ProgressBar(out, out == System.out && RunReport.isTerminal()))
                        .addListener(logs)
                        .addListener(s.tensorBoard() ? TensorBoardWriter.create(s.output().resolve(
                                TensorBoardWriter.FOLDER)) : new TrainingListener() {})
                        .train(s.resume());
                Path adapter = RunReport.saveAdapter(peft, inputs, s.output());
                printRewards(logs, out);
                if (sample != null) {
                    sample.show("after training", peft, out);
                }
                RunReport.printDone(result, start, s.output(), adapter, out);
            }
        }
        return 0;
    }

    /** The trainer on the chosen backend, saying where it runs. */
    private static DpoTrainer trainer(PeftModel peft, BatchSource<PreferenceBatch> train,
                                      BatchSource<PreferenceBatch> eval, TrainingArguments args, DpoArguments dpo,
                                      Backend backend, PrintStream out) {
        DpoTrainer trainer = new DpoTrainer(peft, train, eval, args, dpo, backend);
        out.println("training on " + trainer.placement());
        return trainer;
    }

    private static PreferenceDataset firstPairs(PreferenceDataset all, int n) {
        List<PreferencePair> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pairs.add(all.pair(i));
        }
        return PreferenceDataset.of(pairs, all.specialTokens());
    }

    private static PreferenceOptions dataOptions(DpoSettings s, Tokenizer tokenizer) {
        return PreferenceOptions.defaults()
                .withChatTemplate(s.template() == null ? null : ChatTemplate.of(s.template(), tokenizer.config()))
                .withMaxLength(s.maxLength())
                .withSkipBadRecords(s.skipBadRecords())
                .withReadLimits(s.readLimits());
    }

    /** The logged loss, accuracies and margins, and the evaluations, summed up at the end: do the rewards part? */
    private static void printRewards(RunLogs run, PrintStream out) {
        if (run.logs().isEmpty()) {
            return;
        }
        TrainingListener.TrainLog a = run.logs().getFirst(), b = run.logs().getLast();
        RunReport.printChange(out, "training loss", a.loss(), a.step(), b.loss(), b.step());
        for (String name : List.of(ACCURACIES, MARGINS)) {
            RunReport.printChange(out, name, a.metrics().get(name), a.step(), b.metrics().get(name), b.step());
        }
        if (!run.evals().isEmpty()) {
            TrainingListener.EvalLog first = run.evals().getFirst(), last = run.evals().getLast();
            RunReport.printChange(out, "eval loss", first.loss(), first.step(), last.loss(), last.step());
            RunReport.printChange(out, "eval " + ACCURACIES, first.metrics().get(ACCURACIES), first.step(),
                    last.metrics().get(ACCURACIES), last.step());
        }
    }
}

package org.jtune.cli;

import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.data.DemoDatasets;
import org.jtune.io.hub.ConsoleDownloadProgress;
import org.jtune.io.hub.HubDatasets;
import org.jtune.io.hub.HubModels;
import org.jtune.io.hub.HubSettings;
import org.jtune.model.ModelConfig;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/** What the training commands ({@code sft}, {@code dpo}) share around the run: checks, step counts, printed lines. */
final class RunReport {
    static final String ADAPTER_FOLDER = "adapter";

    private RunReport() {}

    /** A fresh run in a folder that holds another run's checkpoints would mix the two: refuse. */
    private static void refuseOldCheckpoints(Path output) throws IOException {
        List<String> found = ModelFiles.checkpoints(output);
        if (!found.isEmpty()) {
            throw new IllegalStateException(output + " already holds checkpoints of a run (" + String.join(", ", found)
                    + "): add --resume to continue it, or give another --output");
        }
    }

    /** A fresh run would replace a finished run's adapter: TRL's --overwrite-output-dir says so. */
    private static void refuseFinishedAdapter(Path output) {
        Path adapter = output.resolve(ADAPTER_FOLDER);
        if (Files.exists(adapter.resolve("adapter_model.safetensors")) || Files.exists(adapter.resolve(
                "adapter_config.json"))) {
            throw new IllegalStateException(adapter + " holds the adapter of a finished run: add --overwrite-output-dir"
                    + " to replace it, or give another --output");
        }
    }

    /**
     * A run's model folder and data files.
     *
     * @param baseName how the adapter names its base: the Hub id where the model came from the Hub (as PEFT
     *                 writes it), else the folder's absolute path
     */
    record Inputs(Path modelDir, String baseName, List<Path> data) {}

    /**
     * The given model and data; with no model, the demo's (explained first), written fresh into the output folder
     * (a new demo run, not --resume, drops the previous one's checkpoints). A fresh run refuses a folder with
     * another run's checkpoints.
     */
    static Inputs inputs(String model, List<String> data, Path output, boolean resume, boolean overwrite,
                         DemoDatasets demoData, Consumer<PrintStream> explainDemo, PrintStream out)
            throws IOException {
        OutputFolders.requireUsable(output, "--output");
        if (model != null) {
            if (!resume) {
                refuseOldCheckpoints(output);
                if (!overwrite) {
                    refuseFinishedAdapter(output);
                }
            }
            HubSettings hub = HubSettings.fromEnvironment();
            ConsoleDownloadProgress progress = new ConsoleDownloadProgress(out, out == System.out && isTerminal());
            Path dir = HubModels.locate(model, hub, progress);
            OutputFolders.refuseInside(output, dir, "--output", "model folder");
            boolean fromHub = !Files.isDirectory(Path.of(model));
            List<Path> files = new ArrayList<>();
            for (String name : data) {
                files.addAll(HubDatasets.locate(name, hub, progress));
            }
            return new Inputs(dir, fromHub ? model : dir.toAbsolutePath().toString(), files);
        }
        explainDemo.accept(out);
        Path modelDir = output.resolve(DemoRun.MODEL_FOLDER);
        if (!resume) {
            DemoRun.clearPreviousRun(output, out);
        }
        DemoModel.write(modelDir);
        return new Inputs(modelDir, modelDir.toAbsolutePath().toString(), List.of(demoData.copyTo(output.resolve(DemoRun.DATA_FOLDER))));
    }

    /**
     * The maximum length asked for, capped with a warning to the model's {@code max_position_embeddings}: a default
     * of 2048 must not stop a run on a model made for shorter sequences.
     */
    static int cappedLength(Path modelDir, int requested, PrintStream out) throws IOException {
        Path config = modelDir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            return requested; // the loader says what is missing
        }
        com.fasterxml.jackson.databind.JsonNode limit = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(config.toFile()).path("max_position_embeddings");
        if (limit.canConvertToInt() && limit.asInt() > 0 && limit.asInt() < requested) {
            out.println("warning: max_seq_length " + requested + " is more than the model's max_position_embeddings "
                    + limit.asInt() + ": using " + limit.asInt());
            return limit.asInt();
        }
        return requested;
    }

    /** {@code 1 step}, {@code 2 steps}. */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** The first and last value of a logged number, as the closing summary shows it; nothing where it is absent. */
    static void printChange(PrintStream out, String name, Double first, long firstStep, Double last, long lastStep) {
        if (first != null && last != null) {
            out.printf(Locale.ROOT, "%-25s %.4f at step %d -> %.4f at step %d%n", name + ":", first, firstStep, last,
                    lastStep);
        }
    }

    /** Saves the adapter, naming its base, with the base's tokenizer files beside it; returns its folder. */
    static Path saveAdapter(PeftModel peft, Inputs inputs, Path output) throws IOException {
        Path adapter = output.resolve(ADAPTER_FOLDER);
        peft.saveAdapter(adapter, inputs.baseName());
        ModelFiles.copyTokenizerFiles(inputs.modelDir(), adapter);
        return adapter;
    }

    static void printModel(Inputs inputs, Pretrained pretrained, PrintStream out) {
        ModelConfig c = pretrained.model().config();
        boolean fromHub = !inputs.baseName().equals(inputs.modelDir().toAbsolutePath().toString());
        out.println("model: " + (fromHub ? inputs.baseName() + " (" + inputs.modelDir() + ")" : inputs.modelDir())
                + String.format(Locale.ROOT, " (%s, %d layers, hidden %d, vocabulary %d)",
                c.architecture(), c.numLayers(), c.hiddenSize(), c.vocabSize()));
        out.println("  " + pretrained.memory().line());
    }

    static void printLora(PeftModel peft, int r, double alpha, boolean rslora, List<String> targets,
                          PrintStream out) {
        out.printf(Locale.ROOT, "LoRA: r %d, alpha %s%s on %s: %,d trainable parameters%n", r, number(alpha),
                rslora ? " (rsLoRA)" : "", String.join(", ", targets),
                peft.adapters().names().stream().mapToLong(n -> peft.adapters().tensor(n).size()).sum());
    }

    /** The learning rate and its schedule, as the training line shows them. */
    static String schedule(TrainingArguments a) {
        return "lr " + number(a.learningRate()) + " " + a.lrSchedulerType().hfName() + ", warmup "
                + (a.warmupSteps() > 0 ? a.warmupSteps() + " steps" : "ratio " + number(a.warmupRatio()));
    }

    /** The arguments, evaluating ten times over the run unless {@code evalSteps} says otherwise. */
    static TrainingArguments withEvalSteps(TrainingArguments a, long evalSteps, long batchesPerEpoch) {
        long every = evalSteps > 0 ? evalSteps : Math.max(1, (totalSteps(a, batchesPerEpoch) + 9) / 10);
        return a.toBuilder().evalSteps(every).build();
    }

    /** As the trainer counts them: max steps, else epochs x ceil(batches / accumulation). */
    static long totalSteps(TrainingArguments a, long batchesPerEpoch) {
        if (a.maxSteps() > 0) {
            return a.maxSteps();
        }
        long accum = a.gradientAccumulationSteps();
        return Math.max(1, (batchesPerEpoch + accum - 1) / accum) * a.numTrainEpochs();
    }

    static boolean isTerminal() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** The closing lines: steps and time, where the outputs are, how to merge. */
    static void printDone(TrainResult result, long startNanos, Path output, Path adapter, PrintStream out) {
        out.printf(Locale.ROOT, "done: %s in %.0f s%n", count(result.globalStep(), "step"),
                (System.nanoTime() - startNanos) / 1e9);
        out.println("  adapter:    " + adapter);
        if (result.lastCheckpoint() != null) {
            out.println("  checkpoint: " + result.lastCheckpoint());
        }
        out.println("  metrics:    " + output.resolve("metrics.jsonl"));
        out.println("  loss curve: " + output.resolve("loss_curve.png"));
        out.println("merge it into the base model with: " + SelfCommand.get() + " merge --adapter " + adapter
                + " --output " + output.resolve("merged"));
    }

    static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? String.valueOf((long) v) : String.valueOf(v);
    }
}

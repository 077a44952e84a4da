import org.jtune.data.DemoDatasets;
import org.jtune.data.PreferenceBatch;
import org.jtune.data.PreferenceDataset;
import org.jtune.data.PreferenceOptions;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelLoader;
import org.jtune.model.backend.Backend;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.AdapterFiles;
import org.jtune.train.DpoArguments;
import org.jtune.train.PreferenceBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.Trainer;
import org.jtune.train.TrainingArguments;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * DPO of a LoRA adapter on the WordNet-derived preference pairs shipped in the jar ("Define the word X.": the
 * right gloss chosen, another word's gloss rejected). Usage:
 *
 * <pre>
 * java -cp target/jtune.jar examples/dpo/DpoDefinitions.java MODEL_FOLDER OUTPUT_FOLDER [--4bit] [--steps N]
 * </pre>
 *
 * MODEL_FOLDER is a Hugging Face Llama or Mistral folder with its tokenizer ({@code config.json},
 * {@code *.safetensors}, {@code tokenizer.json}); {@code --4bit} quantizes the base to NF4 on load (QLoRA).
 * OUTPUT_FOLDER receives checkpoints, {@code metrics.jsonl}, {@code loss_curve.png} and the final adapter in
 * {@code adapter/}, which PEFT loads as it is.
 */
public class DpoDefinitions {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DpoDefinitions MODEL_FOLDER OUTPUT_FOLDER [--4bit] [--steps N]");
            System.exit(2);
        }
        Path modelFolder = Path.of(args[0]), out = Path.of(args[1]);
        boolean in4bit = false;
        long steps = 60;
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--4bit" -> in4bit = true;
                case "--steps" -> steps = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }

        Tokenizer tokenizer = Tokenizer.fromDirectory(modelFolder);
        int maxLength = 256;
        PreferenceDataset pairs = PreferenceDataset.load(DemoDatasets.DEFINITIONS_DPO.copyTo(out.resolve("data")),
                tokenizer, PreferenceOptions.defaults().withMaxLength(maxLength));
        System.out.println("preference pairs: " + pairs.report());

        try (Arena arena = Arena.ofShared();
             LoadedModel base = ModelLoader.load(modelFolder, in4bit ? LoadOptions.in4bit() : LoadOptions.asStored())) {
            // unsloth's LoRA defaults: r 16, alpha 16, all seven projections, PEFT's init (B = 0: the policy
            // starts as the reference)
            LoraAdapters lora = new LoraAdapters(base.config(), LoraConfig.allProjections(16, 16, false), arena);
            lora.initPeftDefault(3407);
            TrainingArguments training = TrainingArguments.builder().outputDir(out).perDeviceTrainBatchSize(2)
                    .gradientAccumulationSteps(4).maxSteps(steps).learningRate(5e-6).warmupRatio(0.1)
                    .warmupSteps(0).saveSteps(20).build();
            DpoArguments dpo = DpoArguments.defaults(); // beta 0.1, sigmoid loss, reference in every step
            // on the GPU where one is usable, else on the CPU (JTUNE_BACKEND=cpu|cuda decides otherwise)
            Trainer<PreferenceBatch> trainer = Trainer.dpo(Backend.choose(), base.config(), base.weights(), lora,
                    maxLength, training, dpo, new PreferenceBatchSource(pairs, 2, true), null);
            System.out.println("training on " + trainer.placement());
            TrainResult result = trainer.train();
            AdapterFiles.save(lora, base.config(), out.resolve("adapter"), modelFolder.toString());
            System.out.println("trained " + result.globalStep() + " steps, mean loss " + result.trainingLoss()
                    + "; adapter in " + out.resolve("adapter"));
        }
    }
}

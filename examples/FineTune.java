import org.jtune.api.FastLanguageModel;
import org.jtune.api.InferenceModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.api.SftTrainer;
import org.jtune.data.SftDataset;
import org.jtune.generate.GenerationResult;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.train.SftBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;

import java.nio.file.Path;
import java.util.List;

/**
 * Fine-tunes LoRA adapters through the library API, the way an unsloth notebook does, then asks the model a
 * question. Run from the project root, after the demo has written its model folder and data (see README):
 *
 *   java -cp target/jtune.jar examples/FineTune.java [MODEL_DIR DATA_FILE OUTPUT_DIR]
 */
public class FineTune {
    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args.length > 0 ? args[0] : "jtune-demo/demo-model");
        Path dataFile = Path.of(args.length > 1 ? args[1] : "jtune-demo/demo-data/definitions-sft.jsonl.gz");
        Path output = Path.of(args.length > 2 ? args[2] : "outputs/api-example");
        int maxSeqLength = 256;

        // model, tokenizer = FastLanguageModel.from_pretrained(...)
        try (Pretrained pretrained = FastLanguageModel.fromPretrained(modelDir, maxSeqLength, false);
             // model = FastLanguageModel.get_peft_model(model, r=16, lora_alpha=16, ...)
             PeftModel model = FastLanguageModel.getPeftModel(pretrained.model())) {
            Tokenizer tokenizer = pretrained.tokenizer();

            // the model's maximum length, given once above, carries over to the data
            SftDataset dataset = SftDataset.load(dataFile, tokenizer, pretrained.sftOptions());
            System.out.println(dataset.report());

            // trainer = SFTTrainer(model, train_dataset=dataset, args=SFTConfig(...)); trainer.train()
            TrainingArguments training = TrainingArguments.builder()
                    .outputDir(output)
                    .perDeviceTrainBatchSize(4)
                    .gradientAccumulationSteps(1)
                    .maxSteps(40)
                    .learningRate(1e-2) // a random base needs far more than the 2e-4 used for pretrained models
                    .loggingSteps(5)
                    .saveSteps(0)
                    .gradientCheckpointing(false)
                    .build();
            SftBatchSource batches = SftBatchSource.forTraining(dataset, training); // packed, shuffled
            TrainResult result = new SftTrainer(model, batches, null, training).train();
            System.out.printf("trained %d steps, mean loss %.4f%n", result.globalStep(), result.trainingLoss());

            // model.save_pretrained("lora_model")
            model.saveAdapter(output.resolve("adapter"), modelDir.toString());

            // FastLanguageModel.for_inference(model); model.generate(...)
            try (InferenceModel inference = FastLanguageModel.forInference(model, tokenizer)) {
                String question = "Define the word \"river\".";
                GenerationResult answer = inference.chat(List.of(ChatMessage.user(question)),
                        inference.defaultConfig().withMaxNewTokens(40), null);
                System.out.println(question + " -> " + answer.text());
            }
        }
    }
}

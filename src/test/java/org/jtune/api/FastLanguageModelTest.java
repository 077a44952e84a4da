package org.jtune.api;

import org.jtune.io.PeftAdapter;
import org.jtune.io.PeftAdapterFiles;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.backend.Backend;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestFixture;
import org.jtune.train.ListBatchSource;
import org.jtune.train.TrainResult;
import org.jtune.train.TrainingArguments;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The library API end to end: adapters with unsloth's defaults, training, saving, resuming, merging. */
class FastLanguageModelTest extends TestFixture {
    /** Resuming bit for bit is a CPU feature: the test trains on the CPU even where a GPU is present. */
    private static final Backend CPU = Backend.cpu("resume test");
    private static final ModelConfig CONFIG = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 31, "hidden_size": 16,
             "intermediate_size": 20, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
             "rms_norm_eps": 1e-5, "max_position_embeddings": 32}""", "tiny llama");

    private LanguageModel model() {
        return new LanguageModel(CONFIG, RandomWeights.create(CONFIG, DType.F32, 0.2, 5, arena), 12, null);
    }

    private List<Batch> batches(int count) {
        List<Batch> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[][] tokens = new int[2][12];
            for (int[] row : tokens) {
                int start = rnd.nextInt(CONFIG.vocabSize());
                for (int t = 0; t < row.length; t++) {
                    row[t] = (start + 2 * t) % CONFIG.vocabSize();
                }
            }
            list.add(Batch.of(tokens, tokens));
        }
        return list;
    }

    @Test
    void defaultsAreUnsloths() {
        try (PeftModel peft = FastLanguageModel.getPeftModel(model())) {
            LoraAdapters lora = peft.adapters();
            assertEquals(16, lora.config().rank());
            assertEquals(16.0, lora.config().alpha());
            assertEquals(EnumSet.allOf(LoraTarget.class), lora.config().targets());
            Tensor a = lora.adapter(1, LoraTarget.DOWN).a();
            double bound = 1 / Math.sqrt(CONFIG.intermediateSize());
            for (long i = 0; i < a.size(); i++) {
                assertTrue(Math.abs(a.get(i)) <= bound && a.get(i) != 0, "A[" + i + "] = " + a.get(i));
            }
            float[] b = lora.adapter(0, LoraTarget.Q).b().toFloatArray();
            assertArrayEquals(new float[b.length], b, "B starts at zero");
        }
        TrainingArguments args = TrainingArguments.builder().build();
        assertEquals(2e-4, args.learningRate());
        assertEquals("linear", args.lrSchedulerType().hfName());
        assertEquals(5, args.warmupSteps());
    }

    @Test
    void refusesDropoutAndUnknownModules() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FastLanguageModel
                .getPeftModel(model(), 8, List.of("q_proj"), 16, 0.05, 1, false));
        assertTrue(e.getMessage().contains("lora_dropout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FastLanguageModel
                .getPeftModel(model(), 8, List.of("qkv_proj"), 16, 0, 1, false));
        assertTrue(e.getMessage().contains("qkv_proj"), e.getMessage());
    }

    @Test
    void trainSaveResumeAndMerge() throws IOException {
        LanguageModel base = model();
        List<Batch> data = batches(5);
        Path out = temp.resolve("run");
        TrainingArguments args = TrainingArguments.builder().outputDir(out).maxSteps(4).saveSteps(2)
                .learningRate(1e-2).warmupSteps(1).progressBar(false).build();
        float[] trained;
        try (PeftModel peft = FastLanguageModel.getPeftModel(base, 4, List.of("q_proj", "v_proj", "up_proj"), 8, 0,
                seed, true)) {
            TrainResult r = new SftTrainer(peft, new ListBatchSource<>(data, true), null, args, CPU).train();
            assertEquals(4, r.globalStep());
            assertEquals(out.resolve("checkpoint-4"), r.lastCheckpoint());
            assertTrue(Files.exists(out.resolve("loss_curve.png")) && Files.exists(out.resolve("metrics.jsonl")));
            peft.saveAdapter(temp.resolve("adapter"));
            trained = peft.adapters().tensor(peft.adapters().names().get(3)).toFloatArray();

            PeftAdapter written = PeftAdapterFiles.read(temp.resolve("adapter"));
            assertTrue(written.config().useRslora());
            assertEquals(2 * 3, written.modules().size());
            peft.saveMerged(temp.resolve("merged"), DType.BF16);
            assertTrue(Files.exists(temp.resolve("merged").resolve("model.safetensors")));
            assertEquals(DType.BF16, ModelConfig.load(temp.resolve("merged").resolve("config.json")).dtype());
        }
        // resume the same run from its step-2 checkpoint: it ends with the same adapter
        Folders.deleteFolder(out.resolve("checkpoint-4"));
        try (PeftModel peft = FastLanguageModel.getPeftModel(base, 4, List.of("q_proj", "v_proj", "up_proj"), 8, 0,
                seed + 1, true)) {
            TrainResult r = new SftTrainer(peft, new ListBatchSource<>(data, true), null, args, CPU).train(true);
            assertEquals(4, r.globalStep());
            assertArrayEquals(trained, peft.adapters().tensor(peft.adapters().names().get(3)).toFloatArray(), 0f,
                    "seed " + seed);
        }
        try (PeftModel loaded = PeftModel.fromAdapter(base, temp.resolve("adapter"))) {
            assertArrayEquals(trained, loaded.adapters().tensor(loaded.adapters().names().get(3)).toFloatArray(), 0f);
        }
    }
}

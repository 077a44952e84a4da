package org.jtune.api;

import org.jtune.generate.GenerationConfig;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.Batch;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading a model folder with its tokenizer, the errors for folders that are not usable, and greedy decoding. */
class FromPretrainedTest {
    private static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512, "hidden_size": 32,
             "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "rms_norm_eps": 1e-5, "max_position_embeddings": 96}""";

    @TempDir
    Path temp;

    /** A folder with config.json, random weights and the demo tokenizer. */
    private Path folder(String config, boolean withTokenizer) throws IOException {
        Path dir = Files.createDirectories(temp.resolve("model"));
        Files.writeString(dir.resolve("config.json"), config);
        ModelConfig c = ModelConfig.parse(CONFIG, "test");
        try (Arena arena = Arena.ofConfined()) {
            WeightSource w = RandomWeights.create(c, DType.F32, 0.3, 11, arena);
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : w.names()) {
                Tensor t = w.tensor(name);
                writer.add(name, t.dtype(), t.shape(), t.segment());
            }
            writer.write(dir.resolve("model.safetensors"));
        }
        if (withTokenizer) {
            for (String name : List.of("tokenizer.json", "tokenizer_config.json")) {
                try (InputStream in = getClass().getResourceAsStream("/org/jtune/cli/demo/" + name)) {
                    Files.copy(in, dir.resolve(name));
                }
            }
        }
        return dir;
    }

    @Test
    void loadsModelAndTokenizer() throws IOException {
        Path dir = folder(CONFIG, true);
        try (Pretrained p = FastLanguageModel.fromPretrained(dir, 64, false)) {
            assertEquals(512, p.model().config().vocabSize());
            assertEquals(64, p.model().maxSeqLength());
            assertEquals(512, p.tokenizer().vocabSize());
            assertTrue(!p.quantized() && p.memory().quantizedProjections() == 0);
        }
        try (Pretrained p = FastLanguageModel.fromPretrained(dir, 64, true)) {
            assertTrue(p.quantized());
            assertEquals(2 * 7, p.memory().quantizedProjections());
        }
    }

    @Test
    void unusableFoldersAreRefusedWithTheReason() throws IOException {
        assertThrows(NoSuchFileException.class, () -> FastLanguageModel.fromPretrained(temp.resolve("none"), 8, false));
        Path file = Files.writeString(temp.resolve("file.txt"), "x");
        assertMessage(() -> FastLanguageModel.fromPretrained(file, 8, false), "is a file");
        Path empty = Files.createDirectories(temp.resolve("empty"));
        assertMessage(() -> FastLanguageModel.fromPretrained(empty, 8, false), "not a model folder", "config.json");
        Path noTokenizer = folder(CONFIG, false);
        assertMessage(() -> FastLanguageModel.fromPretrained(noTokenizer, 8, false), "has no tokenizer.json");
        Files.writeString(noTokenizer.resolve("config.json"), CONFIG.replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        Files.copy(getClass().getResourceAsStream("/org/jtune/cli/demo/tokenizer.json"),
                noTokenizer.resolve("tokenizer.json"));
        assertMessage(() -> FastLanguageModel.fromPretrained(noTokenizer, 8, false), "GPT2LMHeadModel",
                "is not supported");
        Files.writeString(noTokenizer.resolve("config.json"), CONFIG);
        assertMessage(() -> FastLanguageModel.fromPretrained(noTokenizer, 200, false), "max_seq_length 200",
                "max_position_embeddings 96");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String... parts) {
        Exception e = assertThrows(Exception.class, call);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
    }

    /**
     * forInference: each generated token is the argmax of the logits at the position before it (within fp32
     * rounding of a near tie): checked on one forward pass of the training model over the whole result (causal
     * attention makes those logits the ones each step saw). A stop token ends the answer.
     */
    @Test
    void generateIsGreedyAndStops() throws IOException {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        Path dir = folder(CONFIG, true);
        try (Pretrained p = FastLanguageModel.fromPretrained(dir, 48, false);
             PeftModel peft = FastLanguageModel.getPeftModel(p.model(), 4, FastLanguageModel.ALL_PROJECTIONS, 8, 0,
                     seed, false);
             InferenceModel inference = FastLanguageModel.forInference(peft);
             Arena arena = Arena.ofConfined()) {
            for (String name : peft.adapters().names()) { // a non-trivial adapter, so that it takes part
                Tensor t = peft.adapters().tensor(name);
                for (long i = 0; i < t.size(); i++) {
                    t.set(i, (float) (rnd.nextGaussian() * 0.2));
                }
            }
            int[] prompt = new int[7];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = rnd.nextInt(512);
            }
            int[] made = inference.generate(prompt, GenerationConfig.greedy(100)).tokens();
            assertEquals(48 - prompt.length, made.length, "stops at max_seq_length");
            int[] all = new int[48];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            System.arraycopy(made, 0, all, prompt.length, made.length);
            int vocab = 512;
            Tensor logits = Tensor.f32(arena, 48, vocab);
            int[] ignore = new int[48];
            Arrays.fill(ignore, -100);
            try (CpuCausalLm m = new CpuCausalLm(p.model().config(), p.model().frozen(), peft.adapters(),
                    new CpuOps(), 1, 48, false)) {
                m.forward(Batch.of(new int[][] {all}, new int[][] {ignore}), logits);
            }
            for (int t = prompt.length; t < 48; t++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (logits.get((long) (t - 1) * vocab + v) > logits.get((long) (t - 1) * vocab + best)) {
                        best = v;
                    }
                }
                float chosen = logits.get((long) (t - 1) * vocab + all[t]);
                float top = logits.get((long) (t - 1) * vocab + best);
                assertTrue(chosen >= top - 1e-4f * (1 + Math.abs(top)),
                        "token " + t + " is " + all[t] + ", the argmax is " + best + ", seed " + seed);
            }
            int stop = made[5];
            int firstStop = 0;
            while (made[firstStop] != stop) {
                firstStop++;
            }
            assertArrayEquals(Arrays.copyOf(made, firstStop), inference.generate(prompt, GenerationConfig.greedy(100)
                    .withEosTokenIds(Set.of(stop))).tokens(), "seed " + seed);
            assertEquals(3, inference.generate(prompt, GenerationConfig.greedy(3)).tokens().length);
        }
    }

    /** The maximum length is given once; named LoRA options; a dataset longer than the model is refused up front. */
    @Test
    void theApiTakesTheLengthOnceAndOptionsByName() throws IOException {
        Path dir = folder(CONFIG, true);
        Path data = Files.writeString(temp.resolve("d.jsonl"), "{\"text\": \"the cat sat on the mat\"}\n".repeat(6));
        try (Pretrained p = FastLanguageModel.fromPretrained(dir, 48, false)) {
            assertEquals(48, p.sftOptions().maxLength());
            assertEquals(48, p.preferenceOptions().maxLength());
            org.jtune.data.SftDataset fits = org.jtune.data.SftDataset.load(data, p.tokenizer(), p.sftOptions());
            org.jtune.data.SftDataset tooLong = org.jtune.data.SftDataset.load(data, p.tokenizer(),
                    org.jtune.data.SftOptions.defaults());
            org.jtune.train.TrainingArguments args = org.jtune.train.TrainingArguments.builder()
                    .outputDir(temp.resolve("out")).maxSteps(1).build();
            try (PeftModel named = FastLanguageModel.getPeftModel(p.model(), LoraOptions.defaults().withR(4)
                         .withTargetModules("q_proj", "v_proj").withLoraAlpha(8).withRandomState(5));
                 PeftModel positional = FastLanguageModel.getPeftModel(p.model(), 4, List.of("q_proj", "v_proj"), 8,
                         0, 5, false)) {
                assertEquals(positional.adapters().names(), named.adapters().names());
                for (String n : named.adapters().names()) {
                    float[] a = named.adapters().tensor(n).toFloatArray();
                    float[] b = positional.adapters().tensor(n).toFloatArray();
                    assertTrue(java.util.Arrays.equals(a, b), n);
                }
                new SftTrainer(named, org.jtune.train.SftBatchSource.forTraining(fits, args), null, args);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SftTrainer(named,
                        org.jtune.train.SftBatchSource.forTraining(tooLong, args), null, args));
                assertTrue(e.getMessage().contains("cut to 1024 tokens but the model was loaded for max_seq_length 48")
                        && e.getMessage().contains("sftOptions()"), e.getMessage());
            }
        }
    }
}

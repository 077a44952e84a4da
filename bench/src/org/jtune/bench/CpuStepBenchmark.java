package org.jtune.bench;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One LoRA training step (forward to the loss, backward to the LoRA gradients) of a tiny Llama on the CPU
 * reference backend. Run: {@code mvn -q test-compile} then the JMH main class on the test classpath.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = "--enable-native-access=ALL-UNNAMED")
public class CpuStepBenchmark {

    @Param({"false", "true"})
    public boolean checkpointing;

    private Arena arena;
    private LoraAdapters lora;
    private CpuCausalLm model;
    private Batch batch;

    @Setup(Level.Trial)
    public void setUp() {
        ModelConfig config = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512,
                 "hidden_size": 128, "intermediate_size": 344, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "max_position_embeddings": 256}""",
                "benchmark config");
        arena = Arena.ofShared();
        ModelWeights weights = ModelWeights.load(config, RandomWeights.create(config, DType.BF16, 0.05, 1, arena));
        lora = new LoraAdapters(config, LoraConfig.allProjections(8, 16, false), arena);
        lora.initPeftDefault(2);
        int rows = 2, len = 128;
        SplittableRandom rnd = new SplittableRandom(3);
        int[][] tokens = new int[rows][len];
        for (int[] row : tokens) {
            for (int t = 0; t < len; t++) {
                row[t] = rnd.nextInt(config.vocabSize());
            }
        }
        batch = Batch.of(tokens, tokens);
        model = new CpuCausalLm(config, weights, lora, new CpuOps(), rows, len, checkpointing);
    }

    @Benchmark
    public float trainingStep() {
        lora.zeroGradients();
        float loss = model.forward(batch);
        model.backward();
        return loss;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        arena.close();
    }
}

package org.jtune.testing;

import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.RandomWeights;
import org.jtune.model.WeightSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A tiny random Mistral-shaped model, adapters and batches for engine and trainer tests. */
public final class TinyModel {
    public static final ModelConfig CONFIG = ModelConfig.parse("""
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 29,
             "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 4, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "sliding_window": 5, "max_position_embeddings": 64, "bos_token_id": 1, "eos_token_id": 2}""",
            "tiny mistral");
    public static final LoraConfig LORA = LoraConfig.allProjections(4, 8, false);

    public final WeightSource source;
    public final ModelWeights weights;

    public TinyModel(long seed, Arena arena) {
        source = RandomWeights.create(CONFIG, DType.F32, 0.2, seed, arena);
        weights = ModelWeights.load(CONFIG, source);
    }

    /** PEFT's init (B = 0) from {@code seed}. */
    public static LoraAdapters initAdapters(long seed, Arena arena) {
        LoraAdapters lora = new LoraAdapters(CONFIG, LORA, arena);
        lora.initPeftDefault(seed);
        return lora;
    }

    /** Every A and B matrix random, so that every gradient and every merged delta is non-zero. */
    public static LoraAdapters randomAdapters(Random rnd, Arena arena) {
        LoraAdapters lora = new LoraAdapters(CONFIG, LORA, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        return lora;
    }

    /** Rows of a learnable pattern (token t+1 = token t + 1 mod vocab), about a quarter of the labels masked. */
    public static Batch batch(Random rnd, int rows, int len) {
        int[][] tokens = new int[rows][len], labels = new int[rows][len];
        for (int b = 0; b < rows; b++) {
            int start = rnd.nextInt(CONFIG.vocabSize());
            for (int t = 0; t < len; t++) {
                tokens[b][t] = (start + t) % CONFIG.vocabSize();
                labels[b][t] = rnd.nextInt(4) == 0 ? -100 : tokens[b][t];
            }
        }
        return Batch.of(tokens, labels);
    }

    public static List<Batch> batches(Random rnd, int count, int rows, int len) {
        List<Batch> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(batch(rnd, rows, len));
        }
        return list;
    }
}

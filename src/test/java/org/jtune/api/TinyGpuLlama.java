package org.jtune.api;

import org.jtune.data.PreferenceDataset;
import org.jtune.data.PreferencePair;
import org.jtune.data.SpecialTokens;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.HalfFloats;
import org.jtune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The tiny Llama the GPU trainer tests train (hidden 256 = 4 heads x 64, 2 kv heads, 2 layers, vocab 1000), its
 * adapters (r 16 / alpha 32 on all projections from PEFT's initialisation, A rounded to bf16) and its DPO pairs.
 */
final class TinyGpuLlama {
    static final ModelConfig CONFIG = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 1000,
             "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "max_position_embeddings": 512, "tie_word_embeddings": false}""", "tiny llama");

    private TinyGpuLlama() {}

    /**
     * PEFT's initialisation from {@code seed} (B zero), A rounded to bf16 (what the GPU multiplies by), so that a
     * CPU and a GPU run start from the same matrices.
     */
    static PeftModel peft(LanguageModel base, long seed) {
        PeftModel peft = FastLanguageModel.getPeftModel(base, 16, FastLanguageModel.ALL_PROJECTIONS, 32, 0, seed,
                false);
        for (String name : peft.adapters().names()) {
            Tensor t = peft.adapters().tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(t.get(i))));
            }
        }
        return peft;
    }

    /**
     * Random prompts of 8 to 15 tokens; the chosen completion counts up from the prompt's last token (a pattern LoRA
     * can learn), the rejected one is random; both 24 to 40 tokens long.
     */
    static PreferenceDataset countingPairs(Random rnd, int n) {
        int vocab = CONFIG.vocabSize();
        List<PreferencePair> pairs = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            int[] prompt = rnd.ints(8 + rnd.nextInt(8), 3, vocab).toArray();
            int[] chosen = new int[24 + rnd.nextInt(17)];
            for (int t = 0; t < chosen.length; t++) {
                chosen[t] = (prompt[prompt.length - 1] + 1 + t) % vocab;
            }
            int[] rejected = rnd.ints(24 + rnd.nextInt(17), 3, vocab).toArray();
            pairs.add(new PreferencePair(prompt, chosen, rejected));
        }
        return PreferenceDataset.of(pairs, new SpecialTokens(2, 0));
    }
}

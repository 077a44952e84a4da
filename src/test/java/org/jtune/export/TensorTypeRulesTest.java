package org.jtune.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.io.GgmlType;
import org.jtune.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor types of each export type. The expected counts are those llama.cpp's loader reports for the published
 * GGUF files of these models ("type q4_K: 193 tensors", ...), which its quantize tool made.
 */
class TensorTypeRulesTest {
    static ModelConfig config(int layers, int hidden, int intermediate, int heads, int kvHeads, int vocab) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("hidden_size", hidden);
        c.put("intermediate_size", intermediate);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("vocab_size", vocab);
        return ModelConfig.parse(c.toString(), "test config");
    }

    static Map<GgmlType, Integer> counts(ModelConfig c, GgufFileType type) {
        boolean seventyB = c.numLayers() == 80 && c.numKvHeads() != c.numHeads();
        TensorTypeRules rules = new TensorTypeRules(type, c.numLayers(), seventyB);
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (LlamaTensorPlan.Entry e : LlamaTensorPlan.of(c, false)) {
            counts.merge(rules.typeOf(e.name(), e.role(), e.columns(), e.layer()), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void llama3With8BShapes() {
        ModelConfig llama3 = config(32, 4096, 14336, 32, 8, 128256);
        assertEquals(Map.of(GgmlType.F32, 65, GgmlType.Q4_K, 193, GgmlType.Q6_K, 33), counts(llama3, GgufFileType.Q4_K_M));
        assertEquals(Map.of(GgmlType.F32, 65, GgmlType.Q4_0, 225, GgmlType.Q6_K, 1), counts(llama3, GgufFileType.Q4_0));
        assertEquals(Map.of(GgmlType.F32, 65, GgmlType.Q8_0, 226), counts(llama3, GgufFileType.Q8_0));
        assertEquals(Map.of(GgmlType.F32, 65, GgmlType.F16, 226), counts(llama3, GgufFileType.F16));
        assertEquals(Map.of(GgmlType.F32, 65, GgmlType.BF16, 226), counts(llama3, GgufFileType.BF16));
    }

    @Test
    void q4KMGivesMoreBitsToTheseLayers() {
        ModelConfig c = config(32, 4096, 14336, 32, 8, 128256);
        TensorTypeRules rules = new TensorTypeRules(GgufFileType.Q4_K_M, 32, false);
        TreeSet<Integer> q6 = new TreeSet<>();
        for (LlamaTensorPlan.Entry e : LlamaTensorPlan.of(c, false)) {
            GgmlType t = rules.typeOf(e.name(), e.role(), e.columns(), e.layer());
            if (e.name().endsWith("attn_v.weight") && t == GgmlType.Q6_K) {
                q6.add(e.layer());
            }
            if (e.name().endsWith("ffn_down.weight")) {
                assertEquals(q6.contains(e.layer()), t == GgmlType.Q6_K, e.name());
            }
            if (e.name().equals("token_embd.weight")) {
                assertEquals(GgmlType.Q4_K, t);
            }
            if (e.name().equals("output.weight")) {
                assertEquals(GgmlType.Q6_K, t);
            }
        }
        // the first and last eighth, and every third layer between (layer - 4) % 3 == 2
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), List.copyOf(q6));
    }

    @Test
    void seventyBValueProjectionsAreQ5KWhereNotQ6K() {
        ModelConfig llama2x70b = config(80, 8192, 28672, 64, 8, 32000);
        assertEquals(Map.of(GgmlType.F32, 161, GgmlType.Q4_K, 441, GgmlType.Q5_K, 40, GgmlType.Q6_K, 81),
                counts(llama2x70b, GgufFileType.Q4_K_M));
    }

    @Test
    void tiedEmbeddingsAreTheOutput() {
        ModelConfig c = config(2, 256, 512, 4, 2, 512);
        ModelConfig tied = new ModelConfig(c.architecture(), c.modelType(), c.vocabSize(), c.hiddenSize(),
                c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(),
                c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(), c.slidingWindow(), true, false, false,
                c.bosTokenId(), c.eosTokenIds(), c.dtype());
        List<LlamaTensorPlan.Entry> plan = LlamaTensorPlan.of(tied, false);
        assertTrue(plan.stream().noneMatch(e -> e.name().equals("output.weight")));
        TensorTypeRules rules = new TensorTypeRules(GgufFileType.Q4_K_M, 2, false);
        LlamaTensorPlan.Entry embed = plan.get(0);
        assertEquals("token_embd.weight", embed.name());
        assertEquals(GgmlType.Q6_K, rules.typeOf(embed.name(), embed.role(), embed.columns(), -1));
    }

    @Test
    void rowsThatAreNotWholeBlocksFallBackAsLlamaCppDoes() {
        // the demo model: rows of 128 and 352 values, not multiples of 256
        ModelConfig demo = config(2, 128, 352, 4, 2, 512);
        assertEquals(Map.of(GgmlType.F32, 5, GgmlType.Q5_0, 13, GgmlType.Q8_0, 3), counts(demo, GgufFileType.Q4_K_M));
        assertEquals(Map.of(GgmlType.F32, 5, GgmlType.Q4_0, 15, GgmlType.Q8_0, 1), counts(demo, GgufFileType.Q4_0));
        // rows of 48 values: not a multiple of 32 either
        TensorTypeRules q40 = new TensorTypeRules(GgufFileType.Q4_0, 1, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q40.typeOf("blk.0.ffn_down.weight", TensorTypeRules.Role.FFN_DOWN, 48, 0));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight") && e.getMessage().contains("f16"), e.getMessage());
        TensorTypeRules q4km = new TensorTypeRules(GgufFileType.Q4_K_M, 1, false);
        assertEquals(GgmlType.F16, q4km.typeOf("blk.0.ffn_down.weight", TensorTypeRules.Role.FFN_DOWN, 48, 0),
                "Q6_K falls back to Q8_0, and to F16 when that does not fit either");
        assertEquals(GgmlType.F16, q4km.typeOf("blk.0.ffn_up.weight", TensorTypeRules.Role.OTHER_MATRIX, 48, 0));
    }
}

package org.jtune.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.model.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Gemma 3's sliding layers as one period, which is all llama.cpp's gemma3 reads. */
class GemmaLayerPatternTest {
    private static ModelConfig gemma(int layers, String... layerTypes) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("Gemma3ForCausalLM");
        c.put("num_hidden_layers", layers);
        c.put("sliding_window", 512);
        if (layerTypes.length > 0) {
            ArrayNode types = c.putArray("layer_types");
            for (String t : layerTypes) {
                types.add(t);
            }
        }
        return ModelConfig.parse(c.toString(), "test config");
    }

    @Test
    void periodsOfThePublishedPatternAndOfLayerTypes() {
        // transformers' default sliding_window_pattern: every sixth layer global
        assertEquals(6, GemmaLayerPattern.period(gemma(26)));
        String s = "sliding_attention", f = "full_attention";
        assertEquals(2, GemmaLayerPattern.period(gemma(4, s, f, s, f)));
        assertEquals(3, GemmaLayerPattern.period(gemma(3, s, s, f)));
        assertEquals(0, GemmaLayerPattern.period(gemma(3, s, s, s)), "every layer slides");
        assertEquals(GemmaLayerPattern.NO_SLIDING_LAYERS, GemmaLayerPattern.period(gemma(3, f, f, f)));
        // fewer layers than the period: only sliding ones, which period 0 says as well as 6
        assertEquals(0, GemmaLayerPattern.period(gemma(5)));
    }

    @Test
    void refusesGlobalLayersNoPeriodGives() {
        String s = "sliding_attention", f = "full_attention";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmaLayerPattern.period(gemma(4, f, s, s, s)));
        assertTrue(e.getMessage().contains("global (full-attention) layers 0 of 4 follow no period"), e.getMessage());
    }
}

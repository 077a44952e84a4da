package org.jtune.model;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.jtune.testing.TestResources;

/**
 * The model against HF transformers + PEFT: loss, logits and every LoRA gradient of the tiny models written by
 * {@code src/test/python/make_goldens.py}, with and without gradient checkpointing. Skips when the golden files
 * have not been generated.
 */
class LlamaGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama_mha", "mistral_gqa_window", "llama3_rope", "llama_tied", "llama_packed",
            "llama_rslora"})
    void matchesTransformersAndPeft(String name) throws IOException {
        Optional<Path> folder = TestResources.folder("/org/jtune/model/golden/" + name);
        Assumptions.assumeTrue(folder.isPresent(), "golden case " + name
                + " not generated: run src/test/python/make_goldens.py (needs torch, transformers, peft)");
        Path dir = folder.get();
        for (boolean checkpointing : new boolean[] {false, true}) {
            GoldenCase.check(dir, name + (checkpointing ? " (checkpointing)" : ""), checkpointing);
        }
    }
}

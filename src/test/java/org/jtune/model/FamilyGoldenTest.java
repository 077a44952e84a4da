package org.jtune.model;

import org.jtune.testing.TestResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The model families beyond Llama/Mistral (Qwen2, Qwen3, Gemma 3 text) against their goldens: loss, every logit
 * and every LoRA gradient, with and without gradient checkpointing.
 *
 * <p>Each case is read from {@code golden/<case>} (transformers + PEFT, {@code src/test/python/make_goldens.py})
 * when that folder exists, and otherwise from {@code golden-numpy/<case>}: the float64 numpy reference of
 * {@code src/test/python/family_reference.py}, whose gradients are finite differences and which is itself checked
 * against the transformers goldens that exist ({@code family_reference.py --check}).
 */
class FamilyGoldenTest {
    private static final String GOLDEN = "/org/jtune/model/golden/", NUMPY = "/org/jtune/model/golden-numpy/";

    @ParameterizedTest
    @ValueSource(strings = {"qwen2_bias_tied", "qwen2_window", "qwen3", "gemma3"})
    void matchesTheReference(String name) throws IOException {
        Optional<Path> transformers = TestResources.folder(GOLDEN + name);
        Path dir = transformers.or(() -> TestResources.folder(NUMPY + name)).orElseThrow(
                () -> new AssertionError("neither " + GOLDEN + name + " nor " + NUMPY + name + " exists: run "
                        + "src/test/python/family_reference.py " + name));
        String source = transformers.isPresent() ? "transformers" : "numpy reference";
        for (boolean checkpointing : new boolean[] {false, true}) {
            GoldenCase.check(dir, name + " (" + source + (checkpointing ? ", checkpointing)" : ")"), checkpointing);
        }
    }

    /** The numpy goldens' files (config, safetensors, PEFT names, inputs) as the engine reads them, on Llama. */
    @Test
    void numpyLlamaGoldenMatches() throws IOException {
        Path dir = TestResources.folder(NUMPY + "llama_mha").orElseThrow(
                () -> new AssertionError(NUMPY + "llama_mha is missing: run src/test/python/family_reference.py"));
        for (boolean checkpointing : new boolean[] {false, true}) {
            GoldenCase.check(dir, "llama_mha (numpy reference" + (checkpointing ? ", checkpointing)" : ")"), checkpointing);
        }
    }
}

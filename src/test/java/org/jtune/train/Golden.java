package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.io.SafetensorsFile;
import org.jtune.model.Batch;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.jtune.testing.TestResources;

/** The golden cases written by transformers + PEFT (src/test/python/make_goldens.py) under the model tests' resources. */
final class Golden {
    static final String[] CASES = {"llama_mha", "mistral_gqa_window", "llama3_rope", "llama_tied", "llama_packed",
            "llama_rslora"};

    private Golden() {}

    /** The folder of a case; skips the test when the golden files have not been generated. */
    static Path folder(String name) {
        Optional<Path> folder = TestResources.folder("/org/jtune/model/golden/" + name);
        Assumptions.assumeTrue(folder.isPresent(), "golden case " + name + " not generated");
        return folder.get();
    }

    static Batch batch(Path folder) throws IOException {
        JsonNode in = new ObjectMapper().readTree(folder.resolve("inputs.json").toFile());
        return Batch.withPositions(ints(in.get("input_ids")), ints(in.get("labels")), ints(in.get("position_ids")),
                ints(in.get("document_ids")));
    }

    /** The loss transformers computed. */
    static double loss(Path folder) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(folder.resolve("expected.safetensors"))) {
            return f.readFloats("loss")[0];
        }
    }

    private static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int b = 0; b < out.length; b++) {
            out[b] = new int[rows.get(b).size()];
            for (int t = 0; t < out[b].length; t++) {
                out[b][t] = rows.get(b).get(t).asInt();
            }
        }
        return out;
    }
}

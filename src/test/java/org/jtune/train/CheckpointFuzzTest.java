package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jtune.fuzz.FuzzCampaign;
import org.jtune.fuzz.Mutations;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.OptimizerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fuzz campaign against resuming: a real checkpoint of a tiny model with one of its files
 * mutated (trainer state, optimizer state, adapter weights or config, the folder's step). Restoring
 * must load it or refuse it with an {@code IOException} or {@code IllegalArgumentException} that says
 * what is wrong, as {@link TrainingCheckpoint#restore} documents.
 */
class CheckpointFuzzTest {
    private static final ModelConfig MODEL = ModelConfig.parse("""
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "intermediate_size": 24,
             "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
             "max_position_embeddings": 32, "vocab_size": 40, "rms_norm_eps": 1e-5}""", "tiny");

    @TempDir
    Path temp;

    @Test
    void checkpoints() throws IOException {
        Path seedDir;
        Map<String, byte[]> seedFiles = new java.util.TreeMap<>();
        try (Arena arena = Arena.ofShared()) {
            LoraAdapters lora = new LoraAdapters(MODEL, LoraConfig.allProjections(2, 4, false), arena);
            OptimizerState adam = new OptimizerState(lora, arena);
            TrainingArguments args = TrainingArguments.builder().outputDir(temp).perDeviceTrainBatchSize(1).build();
            seedDir = TrainingCheckpoint.write(temp.resolve("seed"), args, TrainingCheckpoint.SFT_OBJECTIVE, MODEL,
                    lora, adam, 0, () -> new TrainingCheckpoint.State(0, 0, 0, "{}", 1, 0, 0, 0, Map.of()));
        }
        try (Stream<Path> files = Files.list(seedDir)) {
            for (Path f : files.toList()) {
                seedFiles.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        List<String> names = new ArrayList<>(seedFiles.keySet());
        new FuzzCampaign("checkpoint", 10_000, IOException.class, IllegalArgumentException.class).run((rnd, i) -> {
            Path dir = temp.resolve("case-" + (i % 64)).resolve(rnd.nextInt(8) == 0 ? "checkpoint-" + step(rnd)
                    : "checkpoint-0");
            TrainingCheckpoint.deleteTree(dir.getParent());
            Files.createDirectories(dir);
            String victim = names.get(rnd.nextInt(names.size()));
            for (String name : names) {
                byte[] content = seedFiles.get(name);
                if (name.equals(victim)) {
                    content = name.endsWith(".json") && rnd.nextInt(3) > 0
                            ? Mutations.json(Mutations.parse(new String(content, StandardCharsets.UTF_8)), rnd)
                            .getBytes(StandardCharsets.UTF_8)
                            : Mutations.bytes(content, rnd);
                }
                if (rnd.nextInt(40) != 0) { // now and then a file is missing altogether
                    Files.write(dir.resolve(name), content);
                }
            }
            try (Arena arena = Arena.ofShared()) {
                LoraAdapters lora = new LoraAdapters(MODEL, LoraConfig.allProjections(2, 4, false), arena);
                TrainingCheckpoint.readArguments(dir);
                JsonNode objective = TrainingCheckpoint.readObjective(dir);
                if (objective == null) {
                    throw new IOException("no objective");
                }
                TrainingCheckpoint.restore(dir, MODEL, lora, new OptimizerState(lora, arena));
            }
        });
    }

    private static String step(SplittableRandom rnd) {
        return switch (rnd.nextInt(3)) {
            case 0 -> "99999999999999999999";
            case 1 -> String.valueOf(rnd.nextInt(5));
            default -> "0" + rnd.nextInt(10);
        };
    }
}

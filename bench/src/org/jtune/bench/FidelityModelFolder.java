package org.jtune.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.jtune.io.SafetensorsCheckpointWriter;
import org.jtune.io.TensorData;
import org.jtune.model.ModelWeights;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.DType;
import org.jtune.tensor.HalfFloats;

/**
 * Writes a random-weight model folder that transformers and jtune both load: {@code config.json} and bf16
 * safetensors (sharded as huggingface_hub shards). Matrices ~ N(0, 0.02²) (transformers' initializer range), norm
 * weights 1 + N(0, 0.1²) so that a misapplied norm shows. Values are drawn in parallel, in chunks with seeds of their
 * own, so that an 8B model takes seconds on a many-core host and the same seed gives the same folder.
 */
final class FidelityModelFolder {
    static final double STD = 0.02, NORM_STD = 0.1;
    private static final int CHUNK = 1 << 20;

    private FidelityModelFolder() {}

    /** A tensor to draw: matrix or norm vector. */
    private record Spec(String name, long[] shape, boolean norm) {
        long size() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Writes {@code configJson} and its random weights into {@code folder}; returns the parsed config. */
    static ModelConfig write(Path folder, String configJson, long seed) throws IOException {
        ModelConfig config = ModelConfig.parse(configJson, "fidelity shape");
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), configJson);
        List<Spec> specs = specs(config);
        try (Arena arena = Arena.ofShared()) {
            List<TensorData> tensors = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                Spec s = specs.get(i);
                MemorySegment data = arena.allocate(2 * s.size(), 2);
                fill(data, s, seed * 0x9E3779B97F4A7C15L + i);
                tensors.add(new TensorData(s.name(), DType.BF16, s.shape(), data));
            }
            SafetensorsCheckpointWriter.write(folder, tensors, SafetensorsCheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
        }
        return config;
    }

    private static void fill(MemorySegment data, Spec s, long seed) {
        long size = s.size();
        int chunks = Math.toIntExact((size + CHUNK - 1) / CHUNK);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom random = new SplittableRandom(seed + 0xBF58476D1CE4E5B9L * c);
            long end = Math.min(size, (long) (c + 1) * CHUNK);
            for (long j = (long) c * CHUNK; j < end; j++) {
                double v = s.norm() ? 1 + NORM_STD * random.nextGaussian() : STD * random.nextGaussian();
                data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, j, HalfFloats.floatToBf16((float) v));
            }
        });
    }

    /** The tensors of a Llama/Mistral checkpoint of {@code c} (untied head, no biases). */
    private static List<Spec> specs(ModelConfig c) {
        int d = c.hiddenSize(), inter = c.intermediateSize();
        List<Spec> specs = new ArrayList<>();
        specs.add(new Spec("model.embed_tokens.weight", new long[] {c.vocabSize(), d}, false));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = ModelWeights.layerPrefix(l);
            specs.add(new Spec(p + "input_layernorm.weight", new long[] {d}, true));
            specs.add(new Spec(p + "self_attn.q_proj.weight", new long[] {c.qWidth(), d}, false));
            specs.add(new Spec(p + "self_attn.k_proj.weight", new long[] {c.kvWidth(), d}, false));
            specs.add(new Spec(p + "self_attn.v_proj.weight", new long[] {c.kvWidth(), d}, false));
            specs.add(new Spec(p + "self_attn.o_proj.weight", new long[] {d, c.qWidth()}, false));
            specs.add(new Spec(p + "post_attention_layernorm.weight", new long[] {d}, true));
            specs.add(new Spec(p + "mlp.gate_proj.weight", new long[] {inter, d}, false));
            specs.add(new Spec(p + "mlp.up_proj.weight", new long[] {inter, d}, false));
            specs.add(new Spec(p + "mlp.down_proj.weight", new long[] {d, inter}, false));
        }
        specs.add(new Spec("model.norm.weight", new long[] {d}, true));
        specs.add(new Spec("lm_head.weight", new long[] {c.vocabSize(), d}, false));
        return specs;
    }
}

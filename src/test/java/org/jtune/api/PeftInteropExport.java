package org.jtune.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.SafetensorsWriter;
import org.jtune.io.TensorData;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;
import org.jtune.model.cpu.CpuOps;
import org.jtune.model.cpu.CpuCausalLm;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.train.AdapterFiles;
import org.jtune.train.MergedModelWriter;

/**
 * Writes what {@code src/test/python/check_peft_interop.py} checks with transformers + PEFT: a LoRA adapter and
 * merged checkpoints (F32 and BF16) exported by jtune from a small model folder, with the logits jtune computes
 * for one input (base + adapter).
 * <p>Usage: {@code PeftInteropExport MODEL_FOLDER OUT_FOLDER} (MODEL_FOLDER holds config.json and model.safetensors).
 */
public final class PeftInteropExport {
    private PeftInteropExport() {}

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args[0]);
        Path out = Path.of(args[1]);
        long seed = 20261128L;
        SplittableRandom random = new SplittableRandom(seed);
        try (Arena arena = Arena.ofShared();
             SafetensorsFile file = SafetensorsFile.open(base.resolve("model.safetensors"))) {
            ModelConfig config = ModelConfig.load(base.resolve("config.json"));
            Map<String, Tensor> tensors = new HashMap<>();
            for (String name : file.names()) {
                var info = file.info(name);
                tensors.put(name, Tensor.wrap(file.data(name), info.dtype(), info.shape()));
            }
            WeightSource source = WeightSource.of(tensors, file.toString());
            LoraAdapters lora = new LoraAdapters(config, LoraConfig.allProjections(8, 16, false), arena);
            lora.initPeftDefault(seed);
            for (String name : lora.names()) {
                if (name.contains("lora_B")) {  // PEFT starts B at zero; a non-zero B makes the adapter matter
                    Tensor b = lora.tensor(name);
                    for (long i = 0; i < b.size(); i++) {
                        b.set(i, (float) (random.nextGaussian() * 0.05));
                    }
                }
            }
            int tokens = 24;
            int[] ids = new int[tokens];
            for (int t = 0; t < tokens; t++) {
                ids[t] = random.nextInt(config.vocabSize());
            }
            CpuCausalLm model = new CpuCausalLm(config, ModelWeights.load(config, source), lora, new CpuOps(), 1, tokens,
                    false);
            Tensor logits = Tensor.f32(arena, tokens, config.vocabSize());
            model.forward(Batch.of(new int[][] {ids}, new int[][] {ids}), logits);

            Files.createDirectories(out);
            AdapterFiles.save(lora, config, out.resolve("adapter"), base.toAbsolutePath().toString());
            var configJson = new ObjectMapper().readTree(base.resolve("config.json").toFile());
            MergedModelWriter.write(out.resolve("merged-f32"), config, source, lora, DType.F32, configJson,
                    Long.MAX_VALUE);
            MergedModelWriter.write(out.resolve("merged-bf16"), config, source, lora, DType.BF16, configJson,
                    Long.MAX_VALUE);
            float[] idsAsFloats = new float[tokens];
            for (int t = 0; t < tokens; t++) {
                idsAsFloats[t] = ids[t];
            }
            new SafetensorsWriter()
                    .add(TensorData.ofFloats("logits", DType.F32, new long[] {tokens, config.vocabSize()},
                            logits.toFloatArray()))
                    .add(TensorData.ofFloats("input_ids", DType.F32, new long[] {tokens}, idsAsFloats))
                    .write(out.resolve("expected.safetensors"));
            System.out.println("wrote " + out);
        }
    }
}

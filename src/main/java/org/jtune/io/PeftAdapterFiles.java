package org.jtune.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jtune.tensor.DType;

/**
 * Reads and writes a PEFT LoRA adapter folder: {@code adapter_config.json} plus {@code adapter_model.safetensors}
 * with keys {@code base_model.model.<module>.lora_A.weight} ({@code [r, in]}) and {@code .lora_B.weight}
 * ({@code [out, r]}). Weights are written as F32, as PEFT saves them; any float dtype is read.
 */
public final class PeftAdapterFiles {
    /** The weights file name. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final String PREFIX = "base_model.model.";
    private static final String A_SUFFIX = ".lora_A.weight";
    private static final String B_SUFFIX = ".lora_B.weight";

    private PeftAdapterFiles() {}

    /** Reads the adapter in {@code folder}, checking every module's A/B shapes against the configured rank. */
    public static PeftAdapter read(Path folder) throws IOException {
        Path configFile = folder.resolve(PeftConfigJson.FILE_NAME);
        if (!Files.exists(configFile)) {
            throw new PeftConfigException(folder, "no " + PeftConfigJson.FILE_NAME + " in this adapter folder");
        }
        PeftAdapterConfig config = PeftConfigJson.read(configFile);
        Path weightsFile = folder.resolve(WEIGHTS_FILE);
        if (!Files.exists(weightsFile)) {
            boolean pickle = Files.exists(folder.resolve("adapter_model.bin"));
            throw new PeftConfigException(folder, "no " + WEIGHTS_FILE + (pickle
                    ? " (adapter_model.bin, a pickle file, is not supported: save the adapter as safetensors)" : ""));
        }
        try (SafetensorsFile weights = SafetensorsFile.open(weightsFile)) {
            Map<String, LoraModuleWeights> modules = new LinkedHashMap<>();
            for (String module : modulePaths(weights)) {
                modules.put(module, readModule(weights, config, module));
            }
            return new PeftAdapter(config, modules);
        }
    }

    /** Module paths of all A/B pairs; any other key, or half a pair, is an error. */
    private static Set<String> modulePaths(SafetensorsFile weights) throws SafetensorsFormatException {
        Set<String> modules = new LinkedHashSet<>();
        for (String name : weights.names()) {
            String suffix = name.endsWith(A_SUFFIX) ? A_SUFFIX : name.endsWith(B_SUFFIX) ? B_SUFFIX : null;
            if (suffix == null || !name.startsWith(PREFIX) || name.length() <= PREFIX.length() + suffix.length()) {
                throw new SafetensorsFormatException(weights.path(), "tensor \"" + name + "\" is not a LoRA weight "
                        + PREFIX + "<module>" + A_SUFFIX + " or " + B_SUFFIX
                        + " (biases, embeddings, modules_to_save and adapter-named keys are not supported)");
            }
            String module = name.substring(PREFIX.length(), name.length() - suffix.length());
            modules.add(module);
            String partner = PREFIX + module + (suffix.equals(A_SUFFIX) ? B_SUFFIX : A_SUFFIX);
            if (!weights.contains(partner)) {
                throw new SafetensorsFormatException(weights.path(), "tensor \"" + name + "\" has no partner \""
                        + partner + "\"");
            }
        }
        return modules;
    }

    private static LoraModuleWeights readModule(SafetensorsFile weights, PeftAdapterConfig config, String module)
            throws SafetensorsFormatException {
        boolean resolvable = config.targetModules() != null && !config.targetModules().isAllLinear();
        if (resolvable && !config.targets(module)) {
            throw new SafetensorsFormatException(weights.path(), "module \"" + module
                    + "\" has LoRA weights but adapter_config.json does not target it");
        }
        String aName = PREFIX + module + A_SUFFIX;
        String bName = PREFIX + module + B_SUFFIX;
        long[] aShape = weights.info(aName).shape();
        long[] bShape = weights.info(bName).shape();
        int rank = config.rank(module);
        if (aShape.length != 2 || bShape.length != 2 || aShape[0] != rank || bShape[1] != rank
                || aShape[1] <= 0 || bShape[0] <= 0 || aShape[1] > Integer.MAX_VALUE || bShape[0] > Integer.MAX_VALUE) {
            throw new SafetensorsFormatException(weights.path(), "module \"" + module + "\": lora_A is "
                    + Arrays.toString(aShape) + " and lora_B is " + Arrays.toString(bShape) + " but the config's rank "
                    + rank + " needs [" + rank + ", in] and [out, " + rank + "]");
        }
        return new LoraModuleWeights(module, rank, (int) aShape[1], (int) bShape[0],
                weights.readFloats(aName), weights.readFloats(bName));
    }

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (F32, metadata format=pt) into
     * {@code folder}, each atomically. Every module's rank must be the one the config gives it.
     */
    public static void write(Path folder, PeftAdapterConfig config, Collection<LoraModuleWeights> modules)
            throws IOException {
        Map<String, LoraModuleWeights> byPath = new TreeMap<>();
        for (LoraModuleWeights module : modules) {
            if (module.rank() != config.rank(module.modulePath())) {
                throw new IllegalArgumentException(module.modulePath() + ": rank " + module.rank()
                        + " but the config gives it rank " + config.rank(module.modulePath()));
            }
            if (byPath.put(module.modulePath(), module) != null) {
                throw new IllegalArgumentException(module.modulePath() + " given twice");
            }
        }
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        for (LoraModuleWeights module : byPath.values()) {
            writer.add(TensorData.ofFloats(PREFIX + module.modulePath() + A_SUFFIX, DType.F32,
                    new long[] {module.rank(), module.inFeatures()}, module.a()));
            writer.add(TensorData.ofFloats(PREFIX + module.modulePath() + B_SUFFIX, DType.F32,
                    new long[] {module.outFeatures(), module.rank()}, module.b()));
        }
        Files.createDirectories(folder);
        writer.write(folder.resolve(WEIGHTS_FILE));
        PeftConfigJson.write(folder.resolve(PeftConfigJson.FILE_NAME), config);
    }
}

package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.SafetensorsWriter;
import org.jtune.io.TensorData;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelConfig;
import org.jtune.model.OptimizerState;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A resumable training checkpoint, folder {@code checkpoint-<step>} in the output folder: the adapter in PEFT's
 * format, {@code optimizer.safetensors} (AdamW moments per LoRA matrix, step count in the metadata),
 * {@code trainer_state.json} (step, epoch, data position, seed, the logging window) and {@code training_args.json}.
 * Every engine writes the same optimizer file (the GPU's moments copied from the device); a checkpoint of an older
 * GPU run has none and cannot be resumed, though its adapter can still be exported or trained on in a new run.
 * It is written into a hidden temporary folder that is renamed into place when complete, so an interrupted write
 * leaves the earlier checkpoints as they were and no half-written one under a checkpoint name.
 */
final class TrainingCheckpoint {
    static final String STATE_FILE = "trainer_state.json";
    static final String ARGS_FILE = "training_args.json";
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String OBJECTIVE_FILE = "objective.json";
    /** The objective of checkpoints written before {@link #OBJECTIVE_FILE} existed. */
    static final ObjectNode SFT_OBJECTIVE = JsonNodeFactory.instance.objectNode().put("objective", "sft");
    private static final String STEP_KEY = "step";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Where the run stands after {@code globalStep} updates. The run draws no random numbers of its own (LoRA
     * dropout is not supported, the LoRA init happens before training); the data order, the only seeded part, is
     * described by {@code seed} and the batch source's {@code dataState}.
     *
     * @param batchesInEpoch micro-batches taken from the current epoch so far
     * @param logLossSum     sum of the step losses since the last log line, and {@code logSteps}, {@code logTokens}
     * @param logMetricSums  sums of the objective's further metrics since the last log line (empty for SFT)
     */
    record State(long globalStep, int epoch, long batchesInEpoch, String dataState, long seed, double logLossSum,
                 long logSteps, long logTokens, Map<String, Double> logMetricSums) {}

    private TrainingCheckpoint() {}

    static Path folderFor(Path outputDir, long step) {
        return outputDir.resolve("checkpoint-" + step);
    }

    /** Writes the checkpoint; {@code state} is asked for last, once everything else is on disk. */
    static Path write(Path outputDir, TrainingArguments args, JsonNode objective, ModelConfig model,
                      LoraAdapters lora, OptimizerState optimizer, long step, Supplier<State> state)
            throws IOException {
        Files.createDirectories(outputDir);
        Path target = folderFor(outputDir, step);
        Path temporary = outputDir.resolve(".checkpoint-" + step + ".tmp");
        deleteTree(temporary); // left by a run that died while writing
        Files.createDirectories(temporary);
        try {
            AdapterFiles.save(lora, model, temporary, null);
            writeOptimizer(temporary.resolve(OPTIMIZER_FILE), lora, optimizer);
            writeJson(temporary.resolve(ARGS_FILE), TrainingArgumentsJson.toJson(args));
            writeJson(temporary.resolve(OBJECTIVE_FILE), objective);
            writeJson(temporary.resolve(STATE_FILE), stateJson(state.get()));
            syncFolder(temporary);
            if (Files.exists(target)) {
                // a resumed run saving a step again: set the old copy aside first, as a folder cannot be replaced
                Path old = outputDir.resolve(".checkpoint-" + step + ".old");
                deleteTree(old);
                move(target, old);
                move(temporary, target);
                deleteTree(old);
            } else {
                move(temporary, target);
            }
            syncFolder(outputDir);
            return target;
        } catch (IOException | RuntimeException | Error e) {
            deleteTree(temporary);
            throw e;
        }
    }

    /** The complete checkpoint with the highest step in {@code outputDir}, if any. */
    static Optional<Path> latest(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) {
            return Optional.empty();
        }
        Path best = null;
        long bestStep = -1;
        try (Stream<Path> entries = Files.list(outputDir)) {
            for (Path p : entries.toList()) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (m.matches() && Files.exists(p.resolve(STATE_FILE)) && Long.parseLong(m.group(1)) > bestStep) {
                    bestStep = Long.parseLong(m.group(1));
                    best = p;
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /** The arguments the checkpoint's run used. */
    static TrainingArguments readArguments(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(ARGS_FILE);
        return TrainingArgumentsJson.fromJson(readJson(file), file.toString());
    }

    /** The objective settings the checkpoint's run used. */
    static JsonNode readObjective(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(OBJECTIVE_FILE);
        return Files.exists(file) ? readJson(file) : SFT_OBJECTIVE;
    }

    /** Restores the adapter and optimizer from {@code checkpoint} and returns the run's state. */
    static State restore(Path checkpoint, ModelConfig model, LoraAdapters lora, OptimizerState optimizer)
            throws IOException {
        Path stateFile = checkpoint.resolve(STATE_FILE);
        if (!Files.exists(stateFile)) {
            throw new IOException(checkpoint + " is not a complete checkpoint: it has no " + STATE_FILE);
        }
        State state = parseState(readJson(stateFile), stateFile);
        if (!Files.exists(checkpoint.resolve(OPTIMIZER_FILE))) {
            throw new IOException(checkpoint + " has no " + OPTIMIZER_FILE + ": it was written by an older GPU run,"
                    + " which did not save the AdamW moments, so it cannot be resumed (its adapter can start a new run)");
        }
        AdapterFiles.loadInto(checkpoint, lora, model);
        readOptimizer(checkpoint.resolve(OPTIMIZER_FILE), lora, optimizer);
        return state;
    }

    private static void writeOptimizer(Path file, LoraAdapters lora, OptimizerState optimizer) throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter().metadata(STEP_KEY, Long.toString(optimizer.steps()));
        List<String> names = lora.names();
        for (int i = 0; i < names.size(); i++) {
            Tensor m = optimizer.firstMoments().get(i), v = optimizer.secondMoments().get(i);
            writer.add(new TensorData(names.get(i) + ".exp_avg", DType.F32, m.shape(), m.segment()));
            writer.add(new TensorData(names.get(i) + ".exp_avg_sq", DType.F32, v.shape(), v.segment()));
        }
        writer.write(file);
    }

    private static void readOptimizer(Path file, LoraAdapters lora, OptimizerState optimizer) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String step = f.metadata().get(STEP_KEY);
            if (step == null) {
                throw new IOException(file + ": no \"" + STEP_KEY + "\" in the metadata");
            }
            List<String> names = lora.names();
            for (int i = 0; i < names.size(); i++) {
                copy(f, names.get(i) + ".exp_avg", optimizer.firstMoments().get(i));
                copy(f, names.get(i) + ".exp_avg_sq", optimizer.secondMoments().get(i));
            }
            optimizer.setSteps(Long.parseLong(step));
        }
    }

    private static void copy(SafetensorsFile f, String name, Tensor into) throws IOException {
        if (!f.contains(name)) {
            throw new IOException(f.path() + ": no optimizer state " + name);
        }
        float[] values = f.readFloats(name);
        if (values.length != into.size()) {
            throw new IOException(f.path() + ": " + name + " has " + values.length + " values, the model needs "
                    + into.size());
        }
        into.copyFrom(values);
    }

    private static ObjectNode stateJson(State s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("global_step", s.globalStep());
        n.put("epoch", s.epoch());
        n.put("batches_in_epoch", s.batchesInEpoch());
        n.put("data_state", s.dataState());
        n.put("seed", s.seed());
        n.put("log_loss_sum", s.logLossSum());
        n.put("log_steps", s.logSteps());
        n.put("log_tokens", s.logTokens());
        ObjectNode sums = n.putObject("log_metric_sums");
        s.logMetricSums().forEach(sums::put);
        return n;
    }

    private static State parseState(JsonNode n, Path file) throws IOException {
        for (String key : new String[] {"global_step", "epoch", "batches_in_epoch", "data_state", "seed",
                "log_loss_sum", "log_steps", "log_tokens"}) {
            if (!n.hasNonNull(key)) {
                throw new IOException(file + ": missing \"" + key + "\"");
            }
        }
        // absent in checkpoints of runs without further metrics
        Map<String, Double> sums = new LinkedHashMap<>();
        n.path("log_metric_sums").properties().forEach(e -> sums.put(e.getKey(), e.getValue().asDouble()));
        return new State(n.get("global_step").asLong(), n.get("epoch").asInt(), n.get("batches_in_epoch").asLong(),
                n.get("data_state").asText(), n.get("seed").asLong(), n.get("log_loss_sum").asDouble(),
                n.get("log_steps").asLong(), n.get("log_tokens").asLong(), sums);
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Writes and flushes to disk (the folder is renamed afterwards; nothing may still be in flight). */
    private static void writeJson(Path file, JsonNode node) throws IOException {
        byte[] bytes = (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n")
                .getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                ch.write(buffer);
            }
            ch.force(true);
        }
    }

    /** Flushes a folder's entries to disk where the platform allows opening folders (Linux does). */
    private static void syncFolder(Path folder) {
        try (FileChannel ch = FileChannel.open(folder, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // not supported on this platform: the rename is still atomic, only its durability is left to the OS
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}

package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.io.AtomicFiles;
import org.jtune.io.IoErrors;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.StrictJson;
import org.jtune.io.SafetensorsWriter;
import org.jtune.io.TensorData;
import org.jtune.model.BaseModelIdentity;
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
    /** The base model's identity ({@link BaseModelIdentity}); absent in checkpoints of older runs. */
    static final String BASE_FILE = "base_model.json";
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
     * @param workers        the workers of the data-parallel run (1 without; checkpoints of older runs had one)
     */
    record State(long globalStep, int epoch, long batchesInEpoch, String dataState, long seed, double logLossSum,
                 long logSteps, long logTokens, Map<String, Double> logMetricSums, int workers) {

        /** The state of a run of one worker. */
        State(long globalStep, int epoch, long batchesInEpoch, String dataState, long seed, double logLossSum,
              long logSteps, long logTokens, Map<String, Double> logMetricSums) {
            this(globalStep, epoch, batchesInEpoch, dataState, seed, logLossSum, logSteps, logTokens, logMetricSums,
                    1);
        }
    }

    private TrainingCheckpoint() {}

    static Path folderFor(Path outputDir, long step) {
        return outputDir.resolve("checkpoint-" + step);
    }

    /** Writes the checkpoint; {@code state} is asked for last, once everything else is on disk. */
    static Path write(Path outputDir, TrainingArguments args, JsonNode objective, ModelConfig model,
                      LoraAdapters lora, OptimizerState optimizer, long step, Supplier<State> state) throws IOException {
        return write(outputDir, args, objective, model, lora, optimizer, null, step, state);
    }

    /** As above, recording the base model's identity when {@code base} is not null. */
    static Path write(Path outputDir, TrainingArguments args, JsonNode objective, ModelConfig model,
                      LoraAdapters lora, OptimizerState optimizer, BaseModelIdentity base, long step,
                      Supplier<State> state)
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
            if (base != null) {
                writeJson(temporary.resolve(BASE_FILE), baseJson(base));
            }
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
                if (m.matches() && Files.exists(p.resolve(STATE_FILE)) && stepOf(p) > bestStep) {
                    bestStep = stepOf(p);
                    best = p;
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /** Deletes the temporary checkpoint folders ({@code .checkpoint-N.tmp}, {@code .checkpoint-N.old}) a kill left. */
    static void deleteLeftovers(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(outputDir)) {
            for (Path p : entries.toList()) {
                if (p.getFileName().toString().matches("\\.checkpoint-\\d+\\.(tmp|old)")) {
                    deleteTree(p);
                }
            }
        }
        AtomicFiles.deleteLeftovers(outputDir);
    }

    private static ObjectNode baseJson(BaseModelIdentity base) {
        ObjectNode n = JSON.createObjectNode();
        n.put("config_sha256", base.configDigest());
        ObjectNode tensors = n.putObject("tensor_sha256");
        base.tensorDigests().forEach(tensors::put);
        return n;
    }

    /**
     * Refuses to resume on another base model than the checkpoint's run trained on (same shapes, other
     * weights: a different fine-tune or random init); checkpoints without the record are let through.
     */
    static void requireSameBase(Path checkpoint, BaseModelIdentity base) throws IOException {
        Path file = checkpoint.resolve(BASE_FILE);
        if (base == null || !Files.exists(file)) {
            return;
        }
        JsonNode n = readJson(file);
        if (!n.path("config_sha256").isTextual() || !n.path("tensor_sha256").isObject()) {
            throw new IOException(file + ": expected config_sha256 and tensor_sha256");
        }
        Map<String, String> tensors = new LinkedHashMap<>();
        n.get("tensor_sha256").properties().forEach(e -> tensors.put(e.getKey(), e.getValue().asText()));
        String difference = base.differenceFrom(new BaseModelIdentity(n.get("config_sha256").asText(), tensors));
        if (difference != null) {
            throw new IllegalArgumentException(checkpoint + " was trained on another base model than the one given ("
                    + difference + "); resume with the run's own base model");
        }
    }

    /** The step a {@code checkpoint-<step>} folder is named after; a name too large for a step is an error. */
    static long stepOf(Path checkpoint) throws IOException {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IOException(checkpoint + " is not named checkpoint-<step>");
        }
        try {
            return Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IOException(checkpoint + ": the step in the folder name is too large to be a step");
        }
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
        long named = stepOf(checkpoint);
        if (state.globalStep() != named) {
            throw new IOException(stateFile + ": global_step " + state.globalStep() + " does not match the folder's"
                    + " step " + named + "; the checkpoint is inconsistent");
        }
        if (!Files.exists(checkpoint.resolve(OPTIMIZER_FILE))) {
            throw new IOException(checkpoint + " has no " + OPTIMIZER_FILE + ": it was written by an older GPU run,"
                    + " which did not save the AdamW moments, so it cannot be resumed (its adapter can start a new run)");
        }
        AdapterFiles.loadInto(checkpoint, lora, model);
        readOptimizer(checkpoint.resolve(OPTIMIZER_FILE), lora, optimizer);
        if (optimizer.steps() != state.globalStep()) {
            throw new IOException(checkpoint.resolve(OPTIMIZER_FILE) + ": the optimizer has taken " + optimizer.steps()
                    + " steps but " + STATE_FILE + " says " + state.globalStep() + "; the checkpoint is inconsistent");
        }
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
            long steps;
            try {
                steps = Long.parseLong(step);
            } catch (NumberFormatException e) {
                throw new IOException(file + ": the \"" + STEP_KEY + "\" metadata is not a step count: " + step);
            }
            if (steps < 0) {
                throw new IOException(file + ": negative step count " + steps);
            }
            optimizer.setSteps(steps);
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
        n.put("world_size", s.workers());
        return n;
    }

    private static State parseState(JsonNode n, Path file) throws IOException {
        if (!n.isObject()) {
            throw new IOException(file + ": expected a JSON object");
        }
        for (String key : new String[] {"global_step", "epoch", "batches_in_epoch", "data_state", "seed",
                "log_loss_sum", "log_steps", "log_tokens"}) {
            if (!n.hasNonNull(key)) {
                throw new IOException(file + ": missing \"" + key + "\"");
            }
        }
        for (String key : new String[] {"global_step", "epoch", "batches_in_epoch", "log_steps", "log_tokens"}) {
            JsonNode v = n.get(key);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0
                    || (key.equals("epoch") && !v.canConvertToInt())) {
                throw new IOException(file + ": \"" + key + "\" must be a whole number >= 0, got " + v);
            }
        }
        if (!n.get("seed").isIntegralNumber() || !n.get("seed").canConvertToLong()) {
            throw new IOException(file + ": \"seed\" must be a whole number, got " + n.get("seed"));
        }
        if (!n.get("log_loss_sum").isNumber() || !n.get("data_state").isTextual()) {
            throw new IOException(file + ": \"log_loss_sum\" must be a number and \"data_state\" a string");
        }
        // absent in checkpoints of runs without further metrics
        Map<String, Double> sums = new LinkedHashMap<>();
        n.path("log_metric_sums").properties().forEach(e -> sums.put(e.getKey(), e.getValue().asDouble()));
        // absent in checkpoints of runs before data-parallel training: one worker
        JsonNode workers = n.path("world_size");
        if (!workers.isMissingNode() && !(workers.isIntegralNumber() && workers.canConvertToInt()
                && workers.asInt() >= 1)) {
            throw new IOException(file + ": \"world_size\" must be a whole number >= 1, got " + workers);
        }
        return new State(n.get("global_step").asLong(), n.get("epoch").asInt(), n.get("batches_in_epoch").asLong(),
                n.get("data_state").asText(), n.get("seed").asLong(), n.get("log_loss_sum").asDouble(),
                n.get("log_steps").asLong(), n.get("log_tokens").asLong(), sums,
                workers.isMissingNode() ? 1 : workers.asInt());
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return StrictJson.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": " + IoErrors.reason(e), e);
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

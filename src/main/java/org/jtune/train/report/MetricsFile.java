package org.jtune.train.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The run's metrics as JSON lines ({@code "type": "train"} or {@code "eval"}; an objective's further metrics under
 * their own names, {@code eval_}-prefixed in eval lines), appended as they come, and kept in
 * memory for the loss curve. A resumed run keeps the lines up to its checkpoint's step and drops any written after
 * it by the interrupted run, which the resumed run writes again.
 */
public final class MetricsFile implements TrainingListener {
    /** The file name in the output folder. */
    public static final String FILE_NAME = "metrics.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> TRAIN_KEYS = Set.of("type", "step", "epoch", "loss", "learning_rate", "grad_norm",
            "tokens", "tokens_per_second");
    private static final Set<String> EVAL_KEYS = Set.of("type", "step", "epoch", "eval_loss", "eval_tokens");
    /** Eval metrics carry transformers' prefix: {@code eval_rewards/margins}. */
    private static final String EVAL_PREFIX = "eval_";

    private final Path file;
    private final List<TrainLog> train = new ArrayList<>();
    private final List<EvalLog> eval = new ArrayList<>();

    private MetricsFile(Path file) {
        this.file = file;
    }

    /** Starts {@code file} afresh. */
    public static MetricsFile create(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, "");
        return new MetricsFile(file);
    }

    /** Keeps the lines of {@code file} up to {@code step} (the file may be absent) and continues after them. */
    public static MetricsFile resume(Path file, long step) throws IOException {
        MetricsFile metrics = new MetricsFile(file);
        List<String> kept = new ArrayList<>();
        if (Files.exists(file)) {
            List<String> lines = readLinesLeniently(file);
            int last = lines.size() - 1;
            while (last >= 0 && lines.get(last).isBlank()) {
                last--;
            }
            int lineNumber = 0;
            for (String line : lines) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                    if (node == null || !node.isObject() || !node.path("step").isIntegralNumber()) {
                        throw new IOException("not a metrics object");
                    }
                } catch (IOException e) {
                    if (lineNumber - 1 == last) {
                        // A kill while the line was written: the line is written again when its step comes.
                        break;
                    }
                    throw new IOException(file + " line " + lineNumber + " is not a metrics line: " + line, e);
                }
                if (node.path("step").asLong(Long.MAX_VALUE) <= step) {
                    metrics.remember(node);
                    kept.add(line);
                }
            }
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
        return metrics;
    }

    /** The file's lines; bytes cut inside a UTF-8 character by a kill are replaced rather than refused. */
    private static List<String> readLinesLeniently(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines().toList();
    }

    private void remember(JsonNode n) {
        if ("eval".equals(n.path("type").asText())) {
            eval.add(new EvalLog(n.get("step").asLong(), n.get("epoch").asDouble(), n.get("eval_loss").asDouble(),
                    n.get("eval_tokens").asLong(), extraMetrics(n, EVAL_KEYS, EVAL_PREFIX)));
        } else {
            train.add(new TrainLog(n.get("step").asLong(), n.get("epoch").asDouble(), n.get("loss").asDouble(),
                    n.get("learning_rate").asDouble(), n.get("grad_norm").asDouble(), n.get("tokens").asLong(),
                    n.get("tokens_per_second").asDouble(), extraMetrics(n, TRAIN_KEYS, "")));
        }
    }

    /** The numeric fields of a line other than the standard ones, named without the prefix. */
    private static Map<String, Double> extraMetrics(JsonNode n, Set<String> standard, String prefix) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        n.properties().forEach(e -> {
            if (!standard.contains(e.getKey()) && e.getKey().startsWith(prefix) && e.getValue().isNumber()) {
                metrics.put(e.getKey().substring(prefix.length()), e.getValue().asDouble());
            }
        });
        return metrics;
    }

    /** Training lines so far. */
    public List<TrainLog> trainLogs() {
        return List.copyOf(train);
    }

    /** Evaluation lines so far. */
    public List<EvalLog> evalLogs() {
        return List.copyOf(eval);
    }

    @Override
    public void onLog(TrainLog log) {
        train.add(log);
        ObjectNode n = JSON.createObjectNode().put("type", "train").put("step", log.step()).put("epoch", log.epoch())
                .put("loss", log.loss());
        log.metrics().forEach(n::put);
        n.put("learning_rate", log.learningRate()).put("grad_norm", log.gradNorm()).put("tokens", log.tokens())
                .put("tokens_per_second", log.tokensPerSecond());
        append(n);
    }

    @Override
    public void onEval(EvalLog log) {
        eval.add(log);
        ObjectNode n = JSON.createObjectNode().put("type", "eval").put("step", log.step()).put("epoch", log.epoch())
                .put("eval_loss", log.loss());
        log.metrics().forEach((name, value) -> n.put(EVAL_PREFIX + name, value));
        append(n.put("eval_tokens", log.labelledTokens()));
    }

    private void append(ObjectNode line) {
        try {
            Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file, e);
        }
    }
}

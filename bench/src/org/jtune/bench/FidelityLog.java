package org.jtune.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A side's log of a fidelity run, as JSON lines (jtune.jsonl, peer.jsonl; the peer writes the same lines): first
 * {@code {"run": {...}}} describing the side, then {@code {"step": n, "loss": x, "grad_norm": g, "lr": r}} for
 * every step from 1, then {@code {"eval_loss": x, "eval_tokens": n}} after the last step. Lines are flushed as they
 * are written, so a run that stops keeps the steps it made.
 */
final class FidelityLog implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    private FidelityLog(BufferedWriter out) {
        this.out = out;
    }

    /** Starts {@code file} afresh with the run line. */
    static FidelityLog create(Path file, ObjectNode run) throws IOException {
        FidelityLog log = new FidelityLog(Files.newBufferedWriter(file));
        log.line(JSON.createObjectNode().set("run", run));
        return log;
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }

    void step(long step, double loss, double gradNorm, double lr) throws IOException {
        line(JSON.createObjectNode().put("step", step).put("loss", loss).put("grad_norm", gradNorm).put("lr", lr));
    }

    void eval(double loss, long tokens) throws IOException {
        line(JSON.createObjectNode().put("eval_loss", loss).put("eval_tokens", tokens));
    }

    private void line(JsonNode node) throws IOException {
        out.write(JSON.writeValueAsString(node));
        out.newLine();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** What a log holds: the per-step losses (index 0 is step 1) and the final eval loss. */
    record Contents(JsonNode run, double[] losses, double[] gradNorms, double evalLoss) {}

    /**
     * Reads a log.
     *
     * @throws IllegalArgumentException naming the file and line if a line is not JSON, the steps do not run 1, 2, 3,
     *                                  ..., a loss is missing, or there is no eval loss
     */
    static Contents read(Path file) throws IOException {
        JsonNode run = null;
        List<Double> losses = new ArrayList<>(), norms = new ArrayList<>();
        Double eval = null;
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String where = file + ", line " + (i + 1);
            JsonNode node;
            try {
                node = JSON.readTree(lines.get(i));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(where + ": not JSON: " + e.getOriginalMessage());
            }
            if (node.has("run")) {
                run = node.get("run");
            } else if (node.has("step")) {
                long step = node.get("step").asLong();
                if (step != losses.size() + 1) {
                    throw new IllegalArgumentException(where + ": step " + step + " where step " + (losses.size() + 1)
                            + " was expected");
                }
                if (!node.hasNonNull("loss") || !node.get("loss").isNumber()) {
                    throw new IllegalArgumentException(where + ": step " + step + " has no numeric loss");
                }
                losses.add(node.get("loss").asDouble());
                norms.add(node.hasNonNull("grad_norm") ? node.get("grad_norm").asDouble() : Double.NaN);
            } else if (node.has("eval_loss")) {
                eval = node.get("eval_loss").asDouble();
            } else {
                throw new IllegalArgumentException(where + ": neither a run, a step nor an eval line: " + node);
            }
        }
        if (eval == null) {
            throw new IllegalArgumentException(file + " has no eval_loss line (did the run finish?)");
        }
        return new Contents(run, losses.stream().mapToDouble(Double::doubleValue).toArray(),
                norms.stream().mapToDouble(Double::doubleValue).toArray(), eval);
    }
}

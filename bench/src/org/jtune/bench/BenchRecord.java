package org.jtune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One measurement, in the form every benchmark of the project records: a JSON line with the name,
 * value and unit, the peer's value and our ratio to it where there is a peer, and where, when and how
 * it was measured.
 */
public record BenchRecord(String name, double value, String unit, Double peerValue, String peer,
                          boolean higherIsBetter, String gpu, String commit, String date, String command) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Ours over the peer's for higher-is-better units, the peer's over ours otherwise: above 1 means we are better. */
    public Double ratio() {
        if (peerValue == null || peerValue == 0 || value == 0) {
            return null;
        }
        return higherIsBetter ? value / peerValue : peerValue / value;
    }

    public BenchRecord withPeer(double peerValue, String peer) {
        return new BenchRecord(name, value, unit, peerValue, peer, higherIsBetter, gpu, commit, date, command);
    }

    public String toJsonLine() {
        ObjectNode node = JSON.createObjectNode();
        node.put("name", name);
        node.put("value", value);
        node.put("unit", unit);
        node.put("higher_is_better", higherIsBetter);
        if (peerValue != null) {
            node.put("peer", peer);
            node.put("peer_value", peerValue);
            node.put("ratio", ratio());
        }
        node.put("gpu", gpu);
        node.put("commit", commit);
        node.put("date", date);
        node.put("command", command);
        return node.toString();
    }

    public static BenchRecord fromJsonLine(String line) {
        try {
            var node = JSON.readTree(line);
            Double peerValue = node.hasNonNull("peer_value") ? node.get("peer_value").asDouble() : null;
            return new BenchRecord(node.get("name").asText(), node.get("value").asDouble(), node.get("unit").asText(),
                    peerValue, node.path("peer").asText(null), node.path("higher_is_better").asBoolean(true),
                    node.path("gpu").asText(""), node.path("commit").asText(""), node.path("date").asText(""),
                    node.path("command").asText(""));
        } catch (Exception e) {
            throw new IllegalArgumentException("not a benchmark record: " + line, e);
        }
    }
}

package org.jtune.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutations of valid inputs into hostile ones: on bytes (truncation, bit flips, byte runs inserted,
 * deleted or duplicated, extreme little-endian integers written over a header) and on JSON (values
 * swapped for other types or extreme numbers, keys dropped or renamed, containers emptied or nested,
 * trailing garbage). Each call applies one to four mutations chosen by the random source.
 */
public final class Mutations {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** Values that break loaders: extreme numbers, wrong types, strings that are numbers, huge and odd strings. */
    private static final List<JsonNode> HOSTILE_VALUES = List.of(F.numberNode(-1), F.numberNode(0),
            F.numberNode(Integer.MAX_VALUE), F.numberNode(Long.MAX_VALUE), F.numberNode(Long.MIN_VALUE),
            F.numberNode(1e308), F.numberNode(-1e308), F.numberNode(3.7), F.numberNode(1e-320),
            F.numberNode(new java.math.BigInteger("99999999999999999999999")), F.textNode("x"), F.textNode(""),
            F.textNode("\ud800"), F.textNode("12"), F.textNode("{{ x }}"), F.booleanNode(true), F.nullNode(),
            F.arrayNode(), F.objectNode(), F.textNode("a".repeat(10_000)));
    private static final String[] GARBAGE = {"}", "]", ",", "\"", "\\", "\u0000", "{\"a\":1}", "NaN", "\n", "\uFFFF"};

    private Mutations() {}

    /** One to four byte-level mutations of {@code data}. */
    public static byte[] bytes(byte[] data, SplittableRandom rnd) {
        byte[] b = data;
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            b = oneByteMutation(b, rnd);
        }
        return b;
    }

    private static byte[] oneByteMutation(byte[] b, SplittableRandom rnd) {
        if (b.length == 0) {
            return new byte[] {(byte) rnd.nextInt(256)};
        }
        int at = rnd.nextInt(b.length);
        switch (rnd.nextInt(8)) {
            case 0 -> {
                return Arrays.copyOf(b, rnd.nextInt(b.length)); // truncation
            }
            case 1 -> {
                byte[] c = b.clone();
                c[at] ^= (byte) (1 << rnd.nextInt(8)); // bit flip
                return c;
            }
            case 2 -> {
                byte[] c = b.clone();
                c[at] = (byte) rnd.nextInt(256);
                return c;
            }
            case 3 -> { // delete a run
                int len = Math.min(b.length - at, 1 + rnd.nextInt(16));
                byte[] c = new byte[b.length - len];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + len, c, at, b.length - at - len);
                return c;
            }
            case 4 -> { // insert random bytes
                int len = 1 + rnd.nextInt(16);
                byte[] c = new byte[b.length + len];
                System.arraycopy(b, 0, c, 0, at);
                for (int i = 0; i < len; i++) {
                    c[at + i] = (byte) rnd.nextInt(256);
                }
                System.arraycopy(b, at, c, at + len, b.length - at);
                return c;
            }
            case 5 -> { // duplicate a run
                int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                byte[] c = new byte[b.length + len];
                System.arraycopy(b, 0, c, 0, at + len);
                System.arraycopy(b, at, c, at + len, b.length - at);
                return c;
            }
            case 6 -> { // an extreme little-endian integer, where headers keep lengths and offsets
                byte[] c = b.clone();
                long v = switch (rnd.nextInt(4)) {
                    case 0 -> -1L;
                    case 1 -> Long.MAX_VALUE;
                    case 2 -> 1L << (32 + rnd.nextInt(31));
                    default -> rnd.nextLong();
                };
                int pos = rnd.nextBoolean() ? 0 : at;
                for (int i = 0; i < 8 && pos + i < c.length; i++) {
                    c[pos + i] = (byte) (v >>> (8 * i));
                }
                return c;
            }
            default -> { // a printable character that means something to a parser
                byte[] g = GARBAGE[rnd.nextInt(GARBAGE.length)].getBytes(StandardCharsets.UTF_8);
                byte[] c = new byte[b.length + g.length];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(g, 0, c, at, g.length);
                System.arraycopy(b, at, c, at + g.length, b.length - at);
                return c;
            }
        }
    }

    /** One to four structural mutations of a JSON document, written back as text. */
    public static String json(JsonNode valid, SplittableRandom rnd) {
        JsonNode root = valid.deepCopy();
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            root = oneJsonMutation(root, rnd);
        }
        String text = root.toString();
        if (rnd.nextInt(10) == 0) {
            text = text + GARBAGE[rnd.nextInt(GARBAGE.length)];
        }
        return text;
    }

    private static JsonNode oneJsonMutation(JsonNode root, SplittableRandom rnd) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        if (containers.isEmpty()) {
            return HOSTILE_VALUES.get(rnd.nextInt(HOSTILE_VALUES.size())).deepCopy();
        }
        JsonNode target = containers.get(rnd.nextInt(containers.size()));
        if (target instanceof ObjectNode o && !o.isEmpty()) {
            List<String> keys = new ArrayList<>();
            o.fieldNames().forEachRemaining(keys::add);
            String key = keys.get(rnd.nextInt(keys.size()));
            switch (rnd.nextInt(6)) {
                case 0 -> o.remove(key);
                case 1 -> o.set(key + (rnd.nextBoolean() ? "_" : "X"), o.remove(key));
                case 2 -> {
                    JsonNode v = o.get(key);
                    o.set(key, rnd.nextBoolean() ? F.arrayNode().add(v) : F.objectNode().set("v", v));
                }
                case 3 -> o.set(keys.get(rnd.nextInt(keys.size())), o.get(key)); // a value swapped in elsewhere
                default -> o.set(key, HOSTILE_VALUES.get(rnd.nextInt(HOSTILE_VALUES.size())).deepCopy());
            }
        } else if (target instanceof ArrayNode a && !a.isEmpty()) {
            int i = rnd.nextInt(a.size());
            switch (rnd.nextInt(5)) {
                case 0 -> a.remove(i);
                case 1 -> a.insert(i, a.get(rnd.nextInt(a.size())).deepCopy());
                case 2 -> a.removeAll();
                default -> a.set(i, HOSTILE_VALUES.get(rnd.nextInt(HOSTILE_VALUES.size())).deepCopy());
            }
        } else if (target instanceof ObjectNode o) {
            o.set("x", HOSTILE_VALUES.get(rnd.nextInt(HOSTILE_VALUES.size())).deepCopy());
        } else if (target instanceof ArrayNode a) {
            a.add(HOSTILE_VALUES.get(rnd.nextInt(HOSTILE_VALUES.size())).deepCopy());
        }
        return root;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.forEach(child -> collect(child, out));
        }
    }

    /** Text mutations for templates and other sources: snippets of the language spliced in, runs cut out. */
    public static String text(String valid, List<String> snippets, SplittableRandom rnd) {
        StringBuilder s = new StringBuilder(valid);
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            int at = s.isEmpty() ? 0 : rnd.nextInt(s.length() + 1);
            switch (rnd.nextInt(4)) {
                case 0 -> s.insert(at, snippets.get(rnd.nextInt(snippets.size())));
                case 1 -> s.delete(at, Math.min(s.length(), at + 1 + rnd.nextInt(12)));
                case 2 -> s.setLength(at);
                default -> s.insert(at, (char) (32 + rnd.nextInt(95)));
            }
        }
        return s.toString();
    }

    /** Parses JSON text, for seeds. */
    public static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }
}

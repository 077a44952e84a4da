package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's
 * {@code json.dumps(value, ensure_ascii=False, indent=indent, separators=..., sort_keys=...)}.
 */
final class PyJson {
    private final StringBuilder out = new StringBuilder();
    private final boolean ensureAscii;
    private final String indent;
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;
    private final Renderer renderer;
    private final int line;

    private PyJson(Renderer renderer, boolean ensureAscii, String indent, String itemSeparator, String keySeparator,
                   boolean sortKeys, int line) {
        this.renderer = renderer;
        this.ensureAscii = ensureAscii;
        this.indent = indent;
        this.itemSeparator = itemSeparator;
        this.keySeparator = keySeparator;
        this.sortKeys = sortKeys;
        this.line = line;
    }

    /** tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False), HF's signature. */
    static String tojson(Renderer r, Object value, Arguments a) {
        boolean ensureAscii = a.optionalBoolean(0, "ensure_ascii", false);
        Object indentArg = a.optional(1, "indent", null);
        Object separators = a.optional(2, "separators", null);
        boolean sortKeys = a.optionalBoolean(3, "sort_keys", false);
        String indent = null;
        if (indentArg instanceof String s) {
            indent = s;
        } else if (indentArg != null) {
            Long n = Values.asLong(indentArg);
            if (n == null || n > 64) {
                throw a.wrongType("indent", "an integer up to 64 or a string", indentArg);
            }
            indent = " ".repeat((int) Math.max(0, n));
        }
        String item = indent == null ? ", " : ",";
        String key = ": ";
        if (separators != null) {
            if (!(separators instanceof List<?> l) || l.size() != 2 || !(l.get(0) instanceof String s0)
                    || !(l.get(1) instanceof String s1)) {
                throw a.wrongType("separators", "a pair of strings", separators);
            }
            item = s0;
            key = s1;
        }
        PyJson json = new PyJson(r, ensureAscii, indent, item, key, sortKeys, a.line());
        json.write(value, 0);
        return json.out.toString();
    }

    private void write(Object v, int depth) {
        renderer.step(line);
        renderer.checkLength(out.length(), line);
        if (depth > 200) {
            throw new JinjaException("tojson: value nested more than 200 levels deep", line);
        }
        switch (v) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Long l -> out.append(l);
            case Double d -> out.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity"
                    : "-Infinity") : Values.floatRepr(d));
            case String s -> string(s);
            case List<?> l -> {
                if (l.isEmpty()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                for (int i = 0; i < l.size(); i++) {
                    out.append(i > 0 ? itemSeparator : "");
                    newline(depth + 1);
                    write(l.get(i), depth + 1);
                }
                newline(depth);
                out.append(']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    out.append("{}");
                    return;
                }
                List<Object> keys = new ArrayList<>(m.keySet());
                if (sortKeys) {
                    keys.sort((x, y) -> Values.compare(x, y, "<", line));
                }
                out.append('{');
                boolean first = true;
                for (Object k : keys) {
                    out.append(first ? "" : itemSeparator);
                    first = false;
                    newline(depth + 1);
                    string(key(k));
                    out.append(keySeparator);
                    write(m.get(k), depth + 1);
                }
                newline(depth);
                out.append('}');
            }
            case Namespace n -> write(n.attributes, depth);
            default -> throw Values.undefinedOr(v, null, line, "Object of type " + Values.typeName(v)
                    + " is not JSON serializable");
        }
    }

    private String key(Object k) {
        return switch (k) {
            case String s -> s;
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Long l -> l.toString();
            case Double d -> Values.floatRepr(d);
            default -> throw new JinjaException("keys must be str, int, float, bool or None, not "
                    + Values.typeName(k), line);
        };
    }

    private void newline(int depth) {
        if (indent != null) {
            out.append('\n');
            for (int i = 0; i < depth; i++) {
                out.append(indent);
            }
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

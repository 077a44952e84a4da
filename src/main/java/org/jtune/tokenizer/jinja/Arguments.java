package org.jtune.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * The arguments of one call, filter or test, read by position or keyword as Python would bind
 * them; {@link #done()} refuses any that were not read.
 */
final class Arguments {
    private final String function;
    private final List<Object> positional;
    private final Map<String, Object> keywords;
    private final int line;
    private int positionalRead;
    private int keywordsRead;

    Arguments(String function, List<Object> positional, Map<String, Object> keywords, int line) {
        this.function = function;
        this.positional = positional;
        this.keywords = keywords;
        this.line = line;
    }

    int line() {
        return line;
    }

    int count() {
        return positional.size();
    }

    List<Object> rest(int from) {
        positionalRead = Math.max(positionalRead, positional.size());
        return from >= positional.size() ? List.of() : positional.subList(from, positional.size());
    }

    boolean has(int index, String name) {
        return index >= 0 && index < positional.size() || keywords.containsKey(name);
    }

    Object optional(int index, String name, Object fallback) {
        if (index >= 0 && index < positional.size()) {
            positionalRead = Math.max(positionalRead, index + 1);
            return positional.get(index);
        }
        if (keywords.containsKey(name)) {
            keywordsRead++;
            return keywords.get(name);
        }
        return fallback;
    }

    Object required(int index, String name) {
        if (!has(index, name)) {
            throw new JinjaException(function + "() is missing its argument '" + name + "'", line);
        }
        return optional(index, name, null);
    }

    String string(int index, String name) {
        Object v = required(index, name);
        if (!(v instanceof String s)) {
            throw wrongType(name, "a string", v);
        }
        return s;
    }

    String optionalString(int index, String name) {
        Object v = optional(index, name, null);
        if (v != null && !(v instanceof String)) {
            throw wrongType(name, "a string", v);
        }
        return (String) v;
    }

    long optionalLong(int index, String name, long fallback) {
        Object v = optional(index, name, null);
        if (v == null) {
            return fallback;
        }
        Long l = Values.asLong(v);
        if (l == null) {
            throw wrongType(name, "an integer", v);
        }
        return l;
    }

    boolean optionalBoolean(int index, String name, boolean fallback) {
        Object v = optional(index, name, null);
        return v == null ? fallback : Values.truthy(v);
    }

    JinjaException wrongType(String name, String expected, Object v) {
        if (v instanceof Undefined u) {
            return u.error(line);
        }
        return new JinjaException(function + "(): '" + name + "' must be " + expected + ", not "
                + Values.typeName(v), line);
    }

    /** Refuses arguments the function does not take. */
    void done() {
        if (positionalRead < positional.size()) {
            throw new JinjaException(function + "() takes " + positionalRead + " positional argument"
                    + (positionalRead == 1 ? "" : "s") + " but " + positional.size() + " were given", line);
        }
        if (keywordsRead < keywords.size()) {
            throw new JinjaException(function + "() got an unexpected keyword argument among " + keywords.keySet(),
                    line);
        }
    }
}

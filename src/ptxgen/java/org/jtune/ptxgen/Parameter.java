package org.jtune.ptxgen;

import java.util.List;

/**
 * A tunable parameter of a generated kernel file: its name, its default (an integer, or a list of integers
 * written {@code 64,128}) and what it means, including the limits the launcher puts on it.
 */
public record Parameter(String name, Object defaultValue, String description) {

    public Parameter {
        if (!(defaultValue instanceof Long) && !(defaultValue instanceof List<?>)) {
            throw new IllegalArgumentException("parameter " + name + ": default must be a Long or a list of Longs");
        }
    }

    static Parameter integer(String name, long defaultValue, String description) {
        return new Parameter(name, defaultValue, description);
    }

    static Parameter integers(String name, List<Long> defaultValue, String description) {
        return new Parameter(name, List.copyOf(defaultValue), description);
    }

    /** Reads a value given on the command line, of the same kind as the default. */
    Object parse(String text) {
        try {
            if (defaultValue instanceof Long) {
                return Long.parseLong(text.strip());
            }
            return java.util.Arrays.stream(text.split(",")).map(String::strip).map(Long::parseLong).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter " + name + ": '" + text + "' is not "
                    + (defaultValue instanceof Long ? "an integer" : "a list of integers like 64,128"));
        }
    }

    /** A value as it is written on the command line: {@code 4}, or {@code 64,128} for a list. */
    static String format(Object value) {
        return value instanceof List<?> list ? Values.text(list).replace(", ", ",") : String.valueOf(value);
    }
}
